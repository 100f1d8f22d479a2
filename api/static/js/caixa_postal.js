// Omni → Caixa Postal: what customers left when nobody could answer (GET /api/omni/voicemails),
// filtered by service (kept in the address as ?servico=), with the conversation it came from.
import { $, h } from "./dom.js";
import { adminLogin, adminSession, api, codeText } from "./common.js";
import { dateTime } from "./format.js";

const select = $("#vm-service");
const SENDER_PT = { customer: "Cliente", bot: "Bot", agent: "Atendente", system: "Sistema" };

async function loadServices() {
  const services = await api("/api/omni/services");
  const wanted = new URLSearchParams(location.search).get("servico") || "";
  const names = services.map((s) => s.name);
  if (wanted && !names.includes(wanted)) names.push(wanted); // a deleted service's voicemails
  select.replaceChildren(h("option", { value: "" }, "Todos os serviços"),
    ...names.map((name) => h("option", { value: name }, name)));
  select.value = wanted;
}

async function load() {
  const service = select.value;
  const query = service ? `?service=${encodeURIComponent(service)}` : "";
  const items = await api(`/api/omni/voicemails${query}`);
  const where = service ? ` em ${service}` : "";
  $("#vm-count").textContent = items.length === 1 ? `1 mensagem${where}.` : `${items.length} mensagens${where}.`;
  $("#voicemails").replaceChildren(...(items.length ? items.map((v) => h("tr", { dataset: { voicemail: v.id, service: v.service } },
    h("td", {}, dateTime(v.created_at)),
    h("td", {}, v.service),
    h("td", {}, v.bot),
    h("td", {}, h("code", {}, v.contact_id)),
    h("td", { class: "voicemail-text" }, v.text),
    h("td", {}, h("button", {
      type: "button", class: "small", onclick: () => showConversation(v),
      "aria-label": `Ver conversa de ${v.contact_id}`,
    }, "Ver conversa"))))
    : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, service ? `Nenhuma mensagem na caixa postal de ${service}.` : "Nenhuma mensagem na caixa postal."))]));
}

async function showConversation(voicemail) {
  const dialog = $("#conversation-dialog");
  $("#conversation-title").textContent = `Conversa de ${voicemail.contact_id} (${voicemail.bot})`;
  const log = $("#transcript");
  log.replaceChildren(h("p", { class: "muted" }, "Carregando…"));
  dialog.showModal();
  try {
    const messages = await api(`/api/conversations/${encodeURIComponent(voicemail.conversation_id)}/messages`, { token: "admin" });
    log.replaceChildren(...messages.map((m) => m.from === "system"
      ? h("div", { class: "msg system" }, m.text || "")
      : m.kind === "note" // an agent's internal note (the customer never saw it)
        ? h("div", { class: "msg note" }, h("span", { class: "who" }, `Nota interna de ${m.data?.agent || SENDER_PT.agent}: `), m.text || "")
        : h("div", { class: `msg ${m.from}` }, h("span", { class: "who" }, m.from === "agent" ? (m.data?.agent || SENDER_PT.agent) : SENDER_PT[m.from] || m.from), m.text || "")));
    log.scrollTop = log.scrollHeight;
  } catch (error) {
    log.replaceChildren(h("p", { class: "form-error" }, `Não foi possível carregar a conversa: ${codeText(error)}`));
  }
}

select.addEventListener("change", async () => {
  const url = new URL(location.href);
  if (select.value) url.searchParams.set("servico", select.value);
  else url.searchParams.delete("servico");
  history.replaceState(null, "", url);
  await load();
});
$("#filter").addEventListener("submit", (event) => { event.preventDefault(); load(); });
$("#refresh").addEventListener("click", load);
adminSession();
await adminLogin();
await loadServices();
await load();
