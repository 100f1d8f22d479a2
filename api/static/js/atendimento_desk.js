// The agent's desk on the Tela de Atendimento: quick replies (a /shortcut in the message box),
// internal notes, tags and the wrap-up code of a finish, the customer's earlier conversations.
import { $, h } from "./dom.js";
import { api, codeText } from "./common.js";
import { conversationStatusLabel, dateTime } from "./format.js";
import { supervisorNotice, supervisorTitle } from "./atendimento_supervisor.js";

const desk = { conversation: null, service: null, replies: [], codes: { required: false, codes: [] }, codesOf: null, onMessage: null };

/** Called by atendimento_view.js when the agent selects a conversation (or none). */
export async function deskSelect(id, { onMessage, service = null } = {}) {
  desk.conversation = id;
  desk.service = service;
  desk.onMessage = onMessage || desk.onMessage;
  $("#note-error").textContent = "";
  $("#finish-tags").value = "";
  if (!id) return;
  loadQuickReplies();
  loadWrapUp(id);
  loadHistory(id);
}

/** The finish's extra fields: the chosen wrap-up code and the tags typed. */
export function deskFinish() {
  const code = $("#wrapup-code").value;
  const tags = $("#finish-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  return { ...(code ? { wrapup_code: code } : {}), ...(tags.length ? { tags } : {}) };
}

/** A refused finish: on `wrapup_required` the service's codes are read again (the admin may have
 * changed them since the conversation was opened), so the list is the one the finish checks. */
export async function deskFinishRefused(id, error) {
  if (error?.code !== "wrapup_required" || desk.conversation !== id) return;
  const read = await loadWrapUp(id);
  if (read && desk.conversation === id && !desk.codes.codes.length) { // none left to choose
    $("#conv-error").textContent = "O serviço não tem mais tabulações: finalize sem tabulação.";
  }
}

/** How a transcript entry of kind `note` looks (null: not a note). */
export function deskNote(m) {
  if (m.kind !== "note") return null;
  return h("div", { class: "msg note", dataset: { seq: m.seq } },
    h("span", { class: "who" }, `Nota interna de ${m.data?.agent || "atendente"}: `), m.text || "");
}

async function loadQuickReplies() {
  try {
    desk.replies = await api("/api/agent/quick-replies", { token: "agent" });
  } catch {
    desk.replies = [];
  }
  $("#quick-hint").textContent = desk.replies.length
    ? `Respostas rápidas: ${desk.replies.map((r) => r.shortcut).join(", ")} — digite o atalho e tecle Enter ou Tab.`
    : "";
}

/** Read the conversation's wrap-up codes into the list; true when the server answered. */
async function loadWrapUp(id) {
  let read = true;
  try {
    desk.codes = await api(`/api/agent/conversations/${encodeURIComponent(id)}/wrapup-codes`, { token: "agent" });
  } catch {
    desk.codes = { required: false, codes: [] };
    read = false;
  }
  if (desk.conversation !== id) return read;
  const select = $("#wrapup-code");
  const chosen = desk.codesOf === id ? select.value : ""; // read again: kept while still listed
  desk.codesOf = id;
  select.replaceChildren(
    h("option", { value: "" }, desk.codes.required ? "Escolha uma tabulação…" : "Sem tabulação"),
    ...desk.codes.codes.map((c) => h("option", { value: c }, c)));
  select.value = desk.codes.codes.includes(chosen) ? chosen : "";
  $("#wrapup-code-help").textContent = desk.codes.required
    ? "Este serviço exige uma tabulação para finalizar."
    : desk.codes.codes.length ? "Opcional." : "Este serviço não tem códigos de tabulação.";
  return read;
}

/** An earlier conversation's status word: a closed one whose customer left the queue is "Abandonada na fila". */
function historyStatus(c) {
  const closed = c.status === "ended" || c.status === "bot";
  return conversationStatusLabel(closed && c.queue_status === "abandoned" ? "abandoned" : c.status);
}

/** Who served it: the last agent, and those before (a transfer). */
function servedBy(c) {
  if (!c.agent) return "";
  const before = (c.agents || []).filter((name) => name !== c.agent);
  return ` · Atendente: ${c.agent}${before.length ? ` (antes: ${before.join(", ")})` : ""}`;
}

async function loadHistory(id) {
  const box = $("#history");
  let earlier = [];
  try {
    earlier = await api(`/api/agent/conversations/${encodeURIComponent(id)}/history`, { token: "agent" });
  } catch (error) {
    if (desk.conversation === id) box.replaceChildren(h("p", { class: "muted" }, `Não foi possível ler o histórico: ${codeText(error)}`));
    return;
  }
  if (desk.conversation !== id) return;
  if (!earlier.length) { box.replaceChildren(h("p", { class: "muted" }, "Nenhuma conversa anterior deste cliente.")); return; }
  box.replaceChildren(...earlier.map((c) => h("details", { class: "history-item" },
    h("summary", {}, `${dateTime(c.created_at)} · ${historyStatus(c)}${c.service ? ` · ${c.service}` : ""}${servedBy(c)}`,
      c.wrapup_codes.length ? ` · Tabulação: ${c.wrapup_codes.join(", ")}` : "",
      c.tags.length ? ` · Etiquetas: ${c.tags.join(", ")}` : "",
      c.csat_score ? ` · Satisfação: ${c.csat_score}/5${c.csat_comment ? ` (“${c.csat_comment}”)` : ""}` : ""),
    h("ul", {}, ...(c.messages || []).map((m) => h("li", {}, historyLine(m)))))));
}

const FROM_PT = { customer: "Cliente", bot: "Bot", agent: "Atendente", system: "Sistema" };

/** One entry of an earlier conversation; a supervisor's named as the other screens name it
 * (atendimento_supervisor.js): "Supervisor assumiu…" for the default name, not "Supervisor
 * Supervisor assumiu…". */
function historyLine(m) {
  const text = m.text || "";
  if (m.kind === "note") return `Nota interna: ${text}`;
  if (m.kind === "supervisor_notice") return `Sistema: ${supervisorNotice(m)}`;
  if (m.kind === "whisper") return `${supervisorTitle(m.data?.supervisor)} (sussurro ao atendente): ${text}`;
  if (m.from === "supervisor") return `${supervisorTitle(m.data?.supervisor)}: ${text}`;
  return `${FROM_PT[m.from] || m.from}: ${text}`;
}

/** Expand the shortcut typed in the message box, placeholders filled by the server. */
async function expand(box, reply) {
  const id = desk.conversation;
  try {
    const rendered = await api(`/api/agent/conversations/${encodeURIComponent(id)}/quick-replies/${reply.id}`, { method: "POST", token: "agent" });
    if (desk.conversation !== id) return; // another conversation opened meanwhile: not its data
    box.value = rendered.text;
    box.setSelectionRange(box.value.length, box.value.length);
    $("#quick-hint").textContent = `Resposta rápida ${reply.shortcut} inserida: revise e envie.`;
  } catch (error) {
    if (desk.conversation === id) $("#conv-error").textContent = codeText(error);
  }
}

// Before atendimento_actions.js's Enter-sends (capture on the form): an exact shortcut expands instead.
$("#reply-form").addEventListener("keydown", (event) => {
  if (event.target.id !== "reply-text" || !["Enter", "Tab"].includes(event.key) || event.shiftKey) return;
  const box = event.target;
  // the conversation's service's own reply first, then a global one; never another service's
  const fits = desk.replies.filter((r) => r.shortcut === box.value.trim() && (!r.service || !desk.service || r.service === desk.service));
  const reply = fits.find((r) => r.service) || fits[0];
  if (!reply || !desk.conversation) return;
  event.preventDefault();
  event.stopPropagation();
  expand(box, reply);
}, { capture: true });

$("#note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("#note-text");
  const text = box.value.trim();
  const id = desk.conversation;
  if (!text || !id) return;
  $("#note-error").textContent = "";
  try {
    const note = await api(`/api/agent/conversations/${encodeURIComponent(id)}/notes`, { method: "POST", body: { text }, token: "agent" });
    box.value = "";
    desk.onMessage?.(id, note);
  } catch (error) {
    $("#note-error").textContent = codeText(error);
  }
});
