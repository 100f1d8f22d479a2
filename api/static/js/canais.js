// Bots → (bot) → Canais: the bot's WhatsApp and Telegram connectors (PUT/GET/DELETE
// /api/bots/{bot}/channels…). Secrets are never read back; a generated token is shown once.
import { $, adminLogin, adminSession, api, clearErrors, codeText, dateTime, h, showErrors, toast } from "./common.js";

const bot = window.TRANSBORDO_BOT;
const base = `/api/bots/${encodeURIComponent(bot)}/channels`;
const SECRET_PT = {
  access_token: "token de acesso", app_secret: "chave secreta", verify_token: "token de verificação",
  bot_token: "token do bot", secret_token: "token secreto",
};

function webhookUrl(connector) {
  return `${location.origin}${connector.webhook_path}`;
}

function describe(connector) {
  if (!connector) return [h("span", {}, "Não configurado.")];
  const secrets = connector.secrets_set.map((s) => SECRET_PT[s] || s).join(", ");
  return [
    h("span", {}, `Configurado em ${dateTime(connector.updated_at)} (${secrets}). URL do webhook: `),
    h("code", {}, webhookUrl(connector)),
  ];
}

async function load() {
  let connectors = [];
  try {
    connectors = await api(base);
  } catch (error) {
    $("#wa-state").textContent = `Não foi possível carregar: ${codeText(error)}`;
    return;
  }
  const whatsapp = connectors.find((c) => c.platform === "whatsapp");
  const telegram = connectors.find((c) => c.platform === "telegram");
  $("#wa-state").replaceChildren(...describe(whatsapp));
  $("#tg-state").replaceChildren(...describe(telegram));
  if (whatsapp) {
    $("#wa-phone").value = whatsapp.account_id || "";
    $("#wa-template").value = whatsapp.template_name || "";
    $("#wa-language").value = whatsapp.template_language || "pt_BR";
  }
}

function showGenerated(saved) {
  const box = $("#generated");
  const entries = Object.entries(saved.generated || {});
  if (!entries.length) { box.classList.add("hidden"); return; }
  box.replaceChildren(
    h("p", {}, "Copie agora: este valor não será exibido de novo."),
    ...entries.map(([name, value]) => h("p", {}, `${SECRET_PT[name] || name}: `, h("code", { class: "generated-token" }, value))),
    h("p", {}, "URL do webhook: ", h("code", {}, webhookUrl(saved))));
  box.classList.remove("hidden");
}

function formBody(form) {
  const body = {};
  for (const [name, value] of new FormData(form).entries()) if (String(value).trim()) body[name] = String(value).trim();
  return body;
}

async function save(event, platform) {
  event.preventDefault();
  const form = event.target;
  clearErrors(form);
  try {
    const saved = await api(`${base}/${platform}`, { method: "PUT", body: formBody(form) });
    form.querySelectorAll("input.secret").forEach((input) => { input.value = ""; });
    showGenerated(saved);
    toast(platform === "whatsapp" ? "WhatsApp salvo." : "Telegram salvo.");
    await load();
  } catch (error) {
    showErrors(form, error);
  }
}

async function remove(platform, label) {
  if (!confirm(`Remover o ${label} deste bot? O webhook deixará de ser aceito.`)) return;
  try {
    await api(`${base}/${platform}`, { method: "DELETE" });
    toast(`${label} removido.`);
  } catch (error) {
    toast(`Não foi possível remover: ${codeText(error)}`);
  }
  await load();
}

$("#wa-form").addEventListener("submit", (event) => save(event, "whatsapp"));
$("#tg-form").addEventListener("submit", (event) => save(event, "telegram"));
$("#wa-delete").addEventListener("click", () => remove("whatsapp", "WhatsApp"));
$("#tg-delete").addEventListener("click", () => remove("telegram", "Telegram"));
adminSession();
await adminLogin();
await load();
