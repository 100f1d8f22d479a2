// Bots → (bot) → Canais: the bot's WhatsApp and Telegram connectors (PUT/GET/DELETE
// /api/bots/{bot}/channels…). Secrets are never read back; a generated token is shown once.
import { $, h, toast } from "./dom.js";
import { adminLogin, adminSession, api, codeText } from "./common.js";
import { dateTime } from "./format.js";
import { submitForm } from "./form_errors.js";
import { loadBotPage, published } from "./bot_page.js";

const bot = window.TRANSBORDO_BOT;
const base = `/api/bots/${encodeURIComponent(bot)}/channels`;
const SECRET_PT = {
  access_token: "token de acesso", app_secret: "chave secreta", verify_token: "token de verificação",
  bot_token: "token do bot", secret_token: "token secreto",
};

/** What a field the API refused by its form should hold (api/models/channels.py's patterns). */
const FORMAT_PT = {
  phone_number_id: "Somente dígitos (o ID do número de telefone da Meta).",
  bot_token: "No formato 123456:ABC… (o token do BotFather).",
  secret_token: "Somente letras sem acento, números, - e _, com ao menos 8 caracteres.",
};
const FORMAT_TYPES = ["string_pattern_mismatch", "string_too_short"];
const formatText = (item) => (FORMAT_TYPES.includes(item.type) ? FORMAT_PT[(item.loc || []).at(-1)] ?? null : null);

/** Each secret field's placeholder as the stored connector makes it true: "manter" only when
 * one is stored; a token generated when left blank says so. */
const PLACEHOLDERS = {
  access_token: ["Deixe em branco para manter o atual", "Cole o token de acesso do app da Meta"],
  app_secret: ["Deixe em branco para manter a atual", "Cole a chave secreta do app da Meta"],
  verify_token: ["Em branco: mantém o atual", "Em branco: um novo é gerado e exibido uma vez"],
  bot_token: ["Deixe em branco para manter o atual", "Cole o token que o BotFather deu"],
  secret_token: ["Em branco: mantém o atual (um novo se o token for de outro bot)", "Em branco: um novo é gerado e exibido uma vez"],
};

function placeholders(form, connector) {
  for (const [name, [kept, none]] of Object.entries(PLACEHOLDERS)) {
    if (form[name]) form[name].placeholder = connector?.secrets_set.includes(name) ? kept : none;
  }
}

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
  placeholders($("#wa-form"), whatsapp);
  placeholders($("#tg-form"), telegram);
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
  const saved = await submitForm(form, () => api(`${base}/${platform}`, { method: "PUT", body: formBody(form) }), { say: formatText });
  if (!saved) return;
  form.querySelectorAll("input.secret").forEach((input) => { input.value = ""; });
  showGenerated(saved);
  toast(platform === "whatsapp" ? "WhatsApp salvo." : "Telegram salvo.");
  await load();
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
await loadBotPage(bot, () => published(bot).then(load), $("#wa-state"));
