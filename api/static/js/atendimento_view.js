// Tela de Atendimento: the conversation on screen — its tabs, its transcript, the customer's
// variables and the services it may be transferred to — the agent going from one
// conversation to another (each with its own draft in the box), and a conversation that left
// the agent's service outside this screen (kept, closed, until the agent dismisses it).
import { $, h, toast } from "./dom.js";
import { api } from "./common.js";
import { duration } from "./format.js";
import { draftOf, keepDraft, showLength, takeDraft } from "./atendimento_composer.js";
import { deliveriesMark, deliveriesSelect } from "./atendimento_deliveries.js";
import { deskNote, deskSelect } from "./atendimento_desk.js";
import { deskAttachment } from "./atendimento_media.js";
import { linked } from "./links.js";
import { reason, remember, state } from "./atendimento_state.js";
import { news, seen, unread, visible } from "./atendimento_unread.js";
import { arrived, errorOnRender, leaveBox, unsentLine } from "./atendimento_unsent.js";
import { supervisorEntry } from "./atendimento_supervisor.js";

const SENDER_PT = { customer: "Cliente", bot: "Bot", system: "Sistema" };

export function addMessages(id, messages) {
  const conversation = state.conversations.get(id);
  if (!conversation) return;
  let added = false;
  let told = false; // the customer wrote (or the conversation came) since the page loaded them
  for (const message of messages) {
    if (conversation.messages.has(message.seq)) continue;
    conversation.messages.set(message.seq, message);
    added = true;
    told ||= message.from === "customer" && state.restored;
    if (message.from === "agent") arrived(conversation, message);
  }
  if (told) news(id); // atendimento_unread.js: the title, and the tab's "•"
  if (added && id === state.selected) renderConversation();
  if (added && id !== state.selected) renderTabs();
}

/** The conversation goes from the screen (finished or transferred here, or dismissed once it
 * left): its draft with it, the box emptied if it was on screen. */
export function drop(id, message = "") {
  takeDraft(id);
  state.conversations.delete(id);
  seen(id);
  if (state.selected === id) {
    $("#reply-text").value = "";
    state.selected = null;
    remember(null);
    state.putDown = state.conversations.size > 0; // the agent chooses the next (atendimento_list.js)
    deliveriesSelect(null);
    deskSelect(null);
    renderConversation();
    if (message) toast(message);
  }
  renderTabs();
}

/** The conversation left the agent outside this screen (the customer left, a supervisor or a
 * rule moved it): it stays, closed, readable, with no box, until the agent dismisses it
 * ("Fechar"); its draft, never sent, shows as text to copy. On screen it stays on screen (the
 * next conversation is not opened under the agent's fingers). Why: `toldWhy`. */
export function leftScreen(id) {
  const conversation = state.conversations.get(id);
  if (!conversation || conversation.closed) return;
  const shown = state.selected === id;
  if (shown) { leaveBox(id); keepDraft(); $("#reply-text").value = ""; }
  conversation.closed = { why: "", draft: takeDraft(id) };
  if (shown) { deliveriesSelect(null); deskSelect(null); renderConversation(); }
  renderTabs();
}

/** Why the closed conversation left: on its notice, or in a toast when another is on screen. */
export function toldWhy(id, why) {
  const conversation = state.conversations.get(id);
  if (!conversation?.closed) return; // dismissed, or back meanwhile
  conversation.closed.why = why;
  if (state.selected === id) renderClosed(conversation);
  else toast(why);
  renderTabs();
}

/** "Fechar" on a conversation that left: it goes, and the first one still open comes. */
function dismiss(id) {
  drop(id);
  const next = [...state.conversations.values()].find((c) => !c.closed) || state.conversations.values().next().value;
  if (next) select(next.id);
}

/** Go to the conversation `id`: the box keeps the text typed for the one left (its draft) and
 * shows this one's. */
export function select(id) {
  const box = $("#reply-text");
  if (state.selected !== id) {
    if (state.selected) { leaveBox(state.selected); keepDraft(); }
    state.selected = id;
    remember(id); // a reload opens it again (atendimento_list.js)
    box.value = draftOf(id);
  }
  state.putDown = false;
  if (visible()) seen(id);
  const conversation = state.conversations.get(id);
  const open = !!conversation && !conversation.closed;
  renderTabs();
  renderConversation();
  deliveriesSelect(open ? id : null);
  deskSelect(open ? id : null, { service: conversation?.service || null, onMessage: (cid, message) => addMessages(cid, [message]) });
  if (!open) return;
  loadTargets(id);
  box.focus();
}

// --- transfer targets -----------------------------------------------------------------------

/** The services this conversation may be transferred to, as the rules allow (read on select). */
export async function loadTargets(id) {
  const conversation = state.conversations.get(id);
  if (!conversation) return;
  try {
    conversation.targets = await api(`/api/agent/conversations/${encodeURIComponent(id)}/transfer-targets`, { token: "agent" });
    conversation.targetsError = null;
  } catch (error) {
    conversation.targets = [];
    conversation.targetsError = reason(error);
  }
  if (state.selected === id) renderTargets();
}

function renderTargets() {
  const conversation = state.conversations.get(state.selected);
  const select = $("#t-service");
  const targets = conversation?.targets;
  const key = JSON.stringify([state.selected, targets, conversation?.targetsError]);
  if (select.dataset.key === key) return; // unchanged: keep the agent's choice and focus
  select.dataset.key = key;
  const previous = select.value;
  if (!targets) {
    select.replaceChildren(h("option", { value: "" }, "Carregando…"));
    return;
  }
  select.replaceChildren(
    h("option", { value: "" }, targets.length ? "Escolha um serviço…" : "Nenhum serviço disponível para transferência"),
    ...targets.map((t) => h("option", { value: t.name }, t.extension ? `${t.name} — ramal ${t.extension}` : `${t.name} — sem ramal`)));
  select.value = targets.some((t) => t.name === previous) ? previous : "";
  $("#t-service-help").textContent = conversation.targetsError
    ? `Não foi possível listar os serviços: ${conversation.targetsError}`
    : targets.length
      ? "Os serviços para os quais esta conversa pode ser transferida (regras de agrupamento e serviços ocultos)."
      : "As regras do serviço não permitem transferir esta conversa para outro serviço.";
}

// --- drawing --------------------------------------------------------------------------------

/** Who the customer is, as its tab and line say it: the name the contact gave, else the end
 * of its contact id ("…4321", as the supervisor's list says it), else of the conversation's. */
export const customerOf = (c) => c.contactName || c.contact || `#${c.id.slice(0, 6)}`;

/** The customer's name as a tab or a line shows it: isolated (a name written right to left,
 * or holding bidi controls, cannot reorder what follows it) and cut short with an ellipsis by
 * the CSS (`.customer-name`), the whole name in the title. */
const nameOf = (c) => h("bdi", { class: "customer-name" }, customerOf(c));

export function renderTabs() {
  const tabs = $("#conv-tabs");
  const marked = (c) => unread.has(c.id) && c.id !== state.selected;
  tabs.replaceChildren(...[...state.conversations.values()].map((c, i) => h("button", {
    type: "button", class: `small${marked(c) ? " unread" : ""}${c.closed ? " closed" : ""}`,
    "aria-pressed": String(c.id === state.selected), dataset: { conversation: c.id },
    title: `${customerOf(c)}${c.service ? ` · ${c.service}` : ""}${c.closed?.why ? ` · ${c.closed.why}` : ""}`,
    onclick: () => select(c.id),
  }, `${i + 1}. `, nameOf(c), `${c.service ? ` · ${c.service}` : ""}${c.closed ? " · encerrada" : ""}${marked(c) ? " •" : ""}`)));
}

/** Why a conversation that left is closed, its draft as text, and "Fechar". */
function renderClosed(conversation) {
  const note = $("#conv-closed");
  note.classList.toggle("hidden", !conversation?.closed);
  if (!conversation?.closed) { note.replaceChildren(); return; }
  const { why, draft } = conversation.closed;
  note.replaceChildren( // (replaceChildren writes a null as "null": an absent draft is no child)
    h("p", { class: "flush" }, why || "Esta conversa saiu do seu atendimento."),
    ...(draft ? [h("p", { class: "draft" }, "Rascunho não enviado: “", h("span", { class: "draft-text" }, draft), "”")] : []),
    h("button", { type: "button", class: "small", onclick: () => dismiss(conversation.id) }, "Fechar"));
}

/** The line over the transcript: customer, service, how long the customer waited. */
export function renderInfo() {
  const c = state.conversations.get(state.selected);
  if (!c) return;
  const info = $("#conv-info");
  info.title = customerOf(c);
  info.replaceChildren(nameOf(c), ` · Serviço ${c.service || "—"}${c.waited !== null ? ` · esperou ${duration(c.waited)}` : ""}`);
}

export function renderConversation() {
  const conversation = state.conversations.get(state.selected);
  const open = !!conversation && !conversation.closed;
  $("#conversation").classList.toggle("hidden", !conversation);
  $("#conversation").classList.toggle("closed", !!conversation?.closed); // no box: app.css
  $("#no-conversation").classList.toggle("hidden", !!conversation);
  $("#no-conversation").textContent = state.conversations.size // e.g. just after a finish: none opened for the agent
    ? "Escolha uma das suas conversas acima para continuar o atendimento."
    : "Nenhuma conversa em atendimento. Use “Atender próximo” ou escolha uma conversa da fila.";
  $("#transfer-form").classList.toggle("hidden", !open);
  $("#finish").classList.toggle("hidden", !open);
  renderClosed(conversation);
  errorOnRender();
  showLength(); // the box may have been emptied or filled again
  if (!conversation) { $("#variables").replaceChildren(h("dt", { class: "sr-only" }, "Variáveis"), h("dd", { class: "muted" }, "—")); return; }
  renderTargets();
  renderInfo();
  const log = $("#transcript");
  const messages = [...conversation.messages.values()].sort((a, b) => a.seq - b.seq);
  log.replaceChildren(...messages.map(renderMessage), ...conversation.kept.filter((k) => k.line).map(unsentLine));
  deliveriesMark();
  log.scrollTop = log.scrollHeight;
  const variables = Object.entries(conversation.variables || {});
  $("#variables").replaceChildren(...(variables.length
    ? variables.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])
    : [h("dt", { class: "sr-only" }, "Variáveis"), h("dd", { class: "muted" }, conversation.variables ? "Nenhuma variável coletada pelo bot." : "—")]));
}

function renderMessage(m) {
  const who = m.from === "agent" ? (m.data?.agent || state.me?.name || "Atendente") : SENDER_PT[m.from] || m.from;
  let text = m.text || ""; // a menu's text already lists its numbered options
  if (m.kind === "card") text = `[Carrossel] ${(m.data?.cards || []).map((c) => c.title).join(" · ")}`;
  if (m.kind === "delivery_failure") { // the customer's WhatsApp/Telegram did not get a message
    return h("div", { class: "msg system failure", role: "note", dataset: { seq: m.seq } }, `⚠ ${text}`);
  }
  const supervised = supervisorEntry(m); // atendimento_supervisor.js
  if (supervised) return supervised;
  if (m.from === "system") return h("div", { class: "msg system", dataset: { seq: m.seq } }, text);
  if (m.kind === "note") return deskNote(m);
  return h("div", { class: `msg ${m.from}`, dataset: { seq: m.seq } }, h("span", { class: "who" }, who), deskAttachment(m) || linked(text));
}
