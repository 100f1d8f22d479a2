// Tela de Atendimento: the conversation on screen — its tabs, its transcript, the customer's
// variables and the services it may be transferred to — and the agent going from one
// conversation to another.
import { $, $$, api, duration, h, toast } from "./common.js";
import { showLength } from "./atendimento_composer.js";
import { deliveriesMark, deliveriesSelect } from "./atendimento_deliveries.js";
import { deskNote, deskSelect } from "./atendimento_desk.js";
import { deskAttachment } from "./atendimento_media.js";
import { reason, state } from "./atendimento_state.js";
import { arrived, errorOnRender, leaveBox, unsentLine } from "./atendimento_unsent.js";
import { supervisorEntry } from "./atendimento_supervisor.js";

const SENDER_PT = { customer: "Cliente", bot: "Bot", system: "Sistema" };

export function addMessages(id, messages) {
  const conversation = state.conversations.get(id);
  if (!conversation) return;
  let added = false;
  for (const message of messages) {
    if (conversation.messages.has(message.seq)) continue;
    conversation.messages.set(message.seq, message);
    added = true;
    if (message.from === "agent") arrived(conversation, message);
  }
  if (added && id === state.selected) renderConversation();
  if (added && id !== state.selected) renderTabs(id);
}

export function drop(id, message) {
  if (state.selected === id) leaveBox(id);
  state.conversations.delete(id);
  if (state.selected === id) { state.selected = null; deliveriesSelect(null); renderConversation(); toast(message); }
  renderTabs();
}

export function select(id) {
  if (state.selected && state.selected !== id) leaveBox(state.selected);
  state.selected = id;
  renderTabs();
  renderConversation();
  loadTargets(id);
  deliveriesSelect(id);
  const service = state.conversations.get(id)?.service || null;
  deskSelect(id, { service, onMessage: (cid, message) => addMessages(cid, [message]) });
  $("#reply-text").focus();
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

export function renderTabs(unread = null) {
  const tabs = $("#conv-tabs");
  const previous = new Set($$("button.unread", tabs).map((b) => b.dataset.conversation));
  if (unread) previous.add(unread);
  tabs.replaceChildren(...[...state.conversations.values()].map((c, i) => h("button", {
    type: "button", class: `small${previous.has(c.id) && c.id !== state.selected ? " unread" : ""}`,
    "aria-pressed": String(c.id === state.selected), dataset: { conversation: c.id },
    title: `${customerOf(c)}${c.service ? ` · ${c.service}` : ""}`,
    onclick: () => select(c.id),
  }, `${i + 1}. `, nameOf(c), `${c.service ? ` · ${c.service}` : ""}${previous.has(c.id) && c.id !== state.selected ? " •" : ""}`)));
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
  $("#conversation").classList.toggle("hidden", !conversation);
  $("#no-conversation").classList.toggle("hidden", !!conversation);
  $("#transfer-form").classList.toggle("hidden", !conversation);
  $("#finish").classList.toggle("hidden", !conversation);
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
  return h("div", { class: `msg ${m.from}`, dataset: { seq: m.seq } }, h("span", { class: "who" }, who), deskAttachment(m) || text);
}
