// Omni → Integrações → Digital Contact Bots → Configurar: bots bound to services, their API keys.
import { $, copyText, h, toast } from "./dom.js";
import { adminLogin, adminSession, api } from "./common.js";
import { dateTime } from "./format.js";
import { clearErrors, submitForm } from "./form_errors.js";

const form = $("#integration-form");
const shownKeys = new Map(); // integration id → key, only for keys made in this page view

async function load() {
  const integrations = await api("/api/omni/integrations");
  const body = $("#integrations");
  if (!integrations.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "Nenhum chatbot cadastrado. Clique em “Criar novo”.")));
    return;
  }
  body.replaceChildren(...integrations.map((i) => {
    const key = shownKeys.get(i.id);
    return h("tr", { dataset: { bot: i.bot } },
      h("td", {}, h("strong", {}, i.bot)),
      h("td", {}, i.service || h("span", { class: "muted" }, "serviço excluído")),
      h("td", {}, h("code", {}, `${i.key_prefix}…`)),
      h("td", {}, dateTime(i.rotated_at || i.created_at)),
      h("td", {},
        h("button", {
          type: "button", class: "small copy-key", disabled: !key,
          "aria-describedby": key ? null : `copy-why-${i.id}`,
          onclick: () => copy(key),
        }, "Copiar API Key", h("span", { class: "sr-only" }, ` de ${i.bot}`)), " ",
        // each button names its row (for screen readers: "Gerar nova chave de loja")
        h("button", { type: "button", class: "small", onclick: () => rotate(i) }, "Gerar nova chave", h("span", { class: "sr-only" }, ` de ${i.bot}`)), " ",
        h("button", { type: "button", class: "small danger", onclick: () => revoke(i) }, "Revogar", h("span", { class: "sr-only" }, ` ${i.bot}`)),
        // the reason a disabled button is disabled is visible text, not a tooltip
        key ? null : h("p", { class: "help", id: `copy-why-${i.id}` }, "A chave só pode ser copiada logo após ser gerada.")));
  }));
}

async function copy(key) {
  const ok = await copyText(key, $("#i-key"));
  toast(ok ? "API Key copiada para a área de transferência." : "Não foi possível copiar: selecione e copie manualmente.");
}

async function openEditor() {
  const [services, bots] = await Promise.all([api("/api/omni/services"), api("/api/bots").catch(() => [])]);
  form.reset();
  clearErrors(form);
  form.service.replaceChildren(h("option", { value: "" }, "Selecione…"), ...services.map((s) => h("option", { value: s.name }, s.name)));
  $("#bot-names").replaceChildren(...bots.map((b) => h("option", { value: b.bot })));
  $("#copy-new-key").classList.add("hidden");
  $("#save-integration").disabled = false;
  $("#key-help").textContent = "Dado preenchido automaticamente, não sendo necessária nenhuma ação.";
  $("#editor").classList.remove("hidden");
  $("#list").classList.add("hidden");
  form.service.focus();
}

function closeEditor() {
  $("#editor").classList.add("hidden");
  $("#list").classList.remove("hidden");
  $("#new-integration").focus();
}

async function save(event) {
  event.preventDefault();
  const made = await submitForm(form, () => api("/api/omni/integrations", {
    method: "POST", body: { service: form.service.value, bot: form.bot.value.trim() },
  }));
  if (!made) return;
  shownKeys.set(made.id, made.api_key);
  form.api_key.value = made.api_key;
  $("#copy-new-key").classList.remove("hidden");
  $("#copy-new-key").onclick = () => copy(made.api_key);
  $("#save-integration").disabled = true;
  $("#key-help").textContent = "Copie a chave agora e cole-a em “Chave Omni” na aba Atendimento Humano do bot: ela não será exibida novamente.";
  toast(`Chatbot “${made.bot}” cadastrado.`);
  await load();
}

async function rotate(integration) {
  if (!confirm(`Gerar uma nova API Key para “${integration.bot}”? A chave atual deixa de funcionar na hora.`)) return;
  const made = await api(`/api/omni/integrations/${integration.id}/rotate`, { method: "POST" });
  shownKeys.set(made.id, made.api_key);
  await load();
  toast("Nova chave gerada: use “Copiar API Key”.");
}

async function revoke(integration) {
  if (!confirm(`Revogar a integração de “${integration.bot}”? A chave deixa de funcionar.`)) return;
  await api(`/api/omni/integrations/${integration.id}`, { method: "DELETE" });
  shownKeys.delete(integration.id);
  await load();
}

$("#new-integration").addEventListener("click", openEditor);
$("#back").addEventListener("click", closeEditor);
form.addEventListener("submit", save);
adminSession();
await adminLogin();
await load();
