// Tela de Atendimento: the agent's status, the queues of their services, their conversations.
// Live through GET /api/agent/stream (SSE over fetch, bearer token); polls when it is missing.
import { $, $$, ApiError, api, codeText, duration, h, readSSE, statusLabel, toast, tokens } from "./common.js";
import { deliveriesMark, deliveriesSelect } from "./atendimento_deliveries.js";
import { deskFinish, deskNote, deskSelect } from "./atendimento_desk.js";
import { supervisorEntry } from "./atendimento_supervisor.js";
import { showOffers } from "./ofertas.js";
import { customerTyping, deskAttachment, deskMedia } from "./atendimento_media.js";

const POLL_MS = 2000;
const TRANSCRIPT_PAGE = 500; // the most a transcript read returns (PageSize)
const state = {
  me: null,
  queue: [],          // [{conversation_id, service, waiting_seconds, preview, since}]
  conversations: new Map(), // id → {id, service, variables, waited, messages: Map(seq → message), targets, kept}
  selected: null,
  live: false,
  listed: new Set(), // the ids of the stream's last `conversations` event
  connection: 0, // the stream's connections so far
  asking: false, // "Atender próximo" is waiting for its answer
};
let stopper = null;
const sending = new Set(); // {conversation, id, text, applied}: the replies in flight

const SENDER_PT = { customer: "Cliente", bot: "Bot", system: "Sistema" };
/** Why the API said no, in pt-BR (by the error's code; the page adds the agent's capacity). */
function reason(error) {
  return codeText(error, { capacity: state.me?.capacity });
}

// --- login ----------------------------------------------------------------------------------

async function start() {
  if (!tokens.agent()) return showLogin();
  try {
    state.me = await api("/api/agent/me", { token: "agent" });
  } catch (error) {
    tokens.clearAgent();
    return showLogin(error.status === 401 ? "Token inválido ou revogado." : reason(error));
  }
  $("#login").classList.add("hidden");
  $("#workspace").classList.remove("hidden");
  $("#agent-line").textContent = `${state.me.name} · serviços: ${state.me.services.join(", ") || "nenhum"} · capacidade ${state.me.capacity}`;
  $("#session").replaceChildren(h("span", {}, state.me.name), h("button", { type: "button", class: "small", onclick: logout }, "Sair"));
  setStatus(state.me.status);
  renderQueue();
  connect();
  setInterval(renderQueueTimes, 1000);
}

/** The agent's status as the server has it (the stream tells a change it made, e.g. away). */
function setStatus(status) {
  if (state.me.status !== status) toast(`Status: ${statusLabel(status)}`);
  state.me.status = status;
  for (const radio of $$("[name=status]")) radio.checked = radio.value === status;
}

function showLogin(message = "") {
  $("#workspace").classList.add("hidden");
  $("#login").classList.remove("hidden");
  $("#login .form-error").textContent = message;
  $("#agent-token").focus();
}

async function logout() {
  try { await api("/api/agent/status", { method: "POST", body: { status: "offline" }, token: "agent" }); } catch { /* leaving anyway */ }
  stopper?.abort();
  tokens.clearAgent();
  location.reload();
}

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  tokens.setAgent(event.target.token.value.trim());
  start();
});

// --- status ---------------------------------------------------------------------------------

for (const radio of $$("[name=status]")) {
  radio.addEventListener("change", async () => {
    try {
      state.me = await api("/api/agent/status", { method: "POST", body: { status: radio.value }, token: "agent" });
      toast(`Status: ${statusLabel(state.me.status)}`);
    } catch (error) {
      toast(`Não foi possível mudar o status: ${reason(error)}`);
    }
  });
}

// --- live updates ---------------------------------------------------------------------------

function connect() {
  stopper = new AbortController();
  readSSE("/api/agent/stream", {
    token: tokens.agent(),
    signal: stopper.signal,
    onOpen: () => {
      setLive(true);
      state.connection += 1; // lists of the connection before are not applied any more
      state.listed = new Set(); // (re)connected: the first `conversations` event re-reads them all
    },
    onEvent: ({ event, data }) => {
      const payload = JSON.parse(data);
      if (event === "queue") setQueue(payload);
      else if (event === "message") addMessages(payload.conversation_id, [payload.message]);
      else if (event === "conversations") setConversations(payload);
      else if (event === "offers") showOffers(payload, { onAccepted: taken });
      else if (event === "status") setStatus(payload.status);
      else if (event === "typing") customerTyping(payload, state.selected);
    },
    onError: (error) => {
      setLive(false);
      if (error instanceof ApiError && [404, 405].includes(error.status)) { poll(); return false; }
      if (error instanceof ApiError && error.status === 401) { tokens.clearAgent(); showLogin("Sessão expirada."); return false; }
      return true;
    },
  });
}

function setLive(live) {
  state.live = live;
  $("#live").textContent = live ? "ao vivo" : "reconectando…";
  $("#live").className = `badge ${live ? "available" : "paused"}`;
}

/** Without the agent stream: the queue and open conversations are polled. */
function poll() {
  $("#live").textContent = "atualizando a cada 2 s";
  const tick = async () => {
    try {
      setQueue(await api("/api/agent/queue", { token: "agent" }));
      await Promise.all([...state.conversations.keys()].map(refreshMessages));
    } catch { /* next tick */ }
    setTimeout(tick, POLL_MS); // after this one: a slow tick never overlaps the next
  };
  tick();
}

// --- the queue ------------------------------------------------------------------------------

function setQueue(items) {
  const now = Date.now();
  state.queue = items.map((item) => ({ ...item, since: now - item.waiting_seconds * 1000 }));
  renderQueue();
}

function renderQueue() {
  const services = [...new Set([...(state.me?.services || []), ...state.queue.map((q) => q.service)])];
  $("#next").disabled = state.asking || !state.queue.length;
  $("#next-why").textContent = state.queue.length ? "" : "Atender próximo fica desabilitado enquanto ninguém aguarda nas suas filas.";
  $("#queues").replaceChildren(...services.map((service) => {
    const items = state.queue.filter((q) => q.service === service);
    const oldest = items.length ? Math.max(...items.map((q) => q.waiting_seconds)) : null;
    return h("div", { class: "queue-group", dataset: { service } },
      h("h3", {}, h("span", {}, service), h("span", { class: "badge", "aria-label": `${items.length} aguardando` }, `${items.length} aguardando`)),
      items.length
        ? h("p", { class: "muted", style: "margin:.1rem 0 .4rem;font-size:.85rem" }, "Maior espera: ", h("span", { class: "oldest", dataset: { since: String(Date.now() - oldest * 1000) } }, duration(oldest)))
        : h("p", { class: "muted", style: "font-size:.85rem" }, "Ninguém aguardando."),
      items.map((q) => h("div", { class: "queue-item", dataset: { conversation: q.conversation_id } },
        h("div", {},
          h("div", { class: "preview", title: q.preview || "" }, q.preview ? `“${q.preview}”` : "(sem mensagem)"),
          h("div", { class: "muted wait", dataset: { since: String(q.since) } }, duration(q.waiting_seconds))),
        h("button", { type: "button", class: "small", onclick: () => pickup(q.conversation_id), "aria-label": `Atender conversa de ${service}: ${q.preview || ""}` }, "Atender"))));
  }));
}

function renderQueueTimes() {
  for (const node of $$("#queues [data-since]")) node.textContent = duration((Date.now() - Number(node.dataset.since)) / 1000);
}

async function pickup(id) {
  $("#queue-error").textContent = "";
  try {
    taken(await api(`/api/agent/conversations/${id}/pickup`, { method: "POST", token: "agent" }));
  } catch (error) {
    $("#queue-error").textContent = reason(error);
  }
  if (!state.live) setQueue(await api("/api/agent/queue", { token: "agent" }));
}

$("#next").addEventListener("click", async () => {
  $("#queue-error").textContent = "";
  state.asking = true; // one at a time: a double click must not take two conversations
  renderQueue();
  try {
    taken(await api("/api/agent/next", { method: "POST", token: "agent" }));
  } catch (error) {
    $("#queue-error").textContent = reason(error);
  } finally {
    state.asking = false;
    renderQueue();
  }
});

// --- conversations --------------------------------------------------------------------------

function taken(pickupAnswer) {
  const { conversation_id: id, transcript, variables, service, waited_seconds: waited } = pickupAnswer;
  const conversation = ensure(id);
  Object.assign(conversation, { service, variables, waited });
  addMessages(id, transcript);
  state.queue = state.queue.filter((q) => q.conversation_id !== id);
  renderQueue();
  select(id);
  toast(`Conversa de ${service} em atendimento.`);
}

function ensure(id) {
  if (!state.conversations.has(id)) {
    state.conversations.set(id, {
      id, service: null, variables: null, waited: null, messages: new Map(), targets: null,
      kept: [], // {id, text, line}: the replies that failed, oldest first (see the reply form);
      // `line`: shown as a line of the transcript (else its text went back to the box)
    });
  }
  return state.conversations.get(id);
}

let listing = Promise.resolve();

/** The stream's list of conversations in service, one list after the other (one that is still
 * loading must not drop a conversation a later list added), and only while its connection is
 * the current one (the next connection's first list reads them all again). */
function setConversations(ids) {
  const connection = state.connection;
  listing = listing
    .then(() => connection === state.connection && applyConversations(ids))
    .catch((error) => console.warn("conversations list:", error)); // the next list still comes
  return listing;
}

/** Load the listed conversations that are new, drop the ones that left. The stream sends a
 * conversation's messages from the moment it lists it; whatever came between the pickup answer
 * and that moment is read from the log here. */
async function applyConversations(ids) {
  const held = [...state.conversations.keys()]; // one picked up while this list loads is kept
  const listed = state.listed;
  state.listed = new Set(ids);
  for (const id of ids) {
    if (listed.has(id)) continue;
    const known = state.conversations.has(id);
    const conversation = ensure(id);
    if (!known) {
      try {
        const info = await api(`/api/agent/conversations/${id}`, { token: "agent" });
        conversation.service = info.service;
      } catch { /* shown without its service */ }
    }
    try {
      await refreshMessages(id);
    } catch (error) { // read again with the next list
      state.listed.delete(id);
      console.warn(`conversation ${id}:`, error);
    }
  }
  for (const id of held) {
    if (!ids.includes(id) && state.conversations.has(id)) drop(id, "A conversa saiu do seu atendimento.");
  }
  if (!state.selected && ids.length) select(ids[0]);
  renderTabs();
}

/** Read the log again from the first seq the screen lacks among the newest lateWindow() (a
 * message recorded late, after later ones, is read once it has come), page by page. */
async function refreshMessages(id) {
  let after = readFrom(state.conversations.get(id)?.messages);
  while (state.conversations.has(id)) {
    const url = `/api/agent/conversations/${id}/messages?after=${after}&limit=${TRANSCRIPT_PAGE}`;
    const page = await api(url, { token: "agent" });
    addMessages(id, page);
    if (page.length < TRANSCRIPT_PAGE) return;
    after = page[page.length - 1].seq;
  }
}

/** How far below the newest seq a late message is looked for: the server's (LATE_MAX), which
 * the page carries. */
function lateWindow() {
  return Number($("#transcript").dataset.lateWindow) || 50;
}

/** The seq to read after: the last one before the first missing among the newest lateWindow()
 * of `messages` (seq → message), or the newest. Older holes are not looked for (some seqs are
 * never used: the server's streams look back as far, api/stream_hub.py LATE_MAX). */
function readFrom(messages) {
  if (!messages) return 0;
  const newest = Math.max(0, ...messages.keys());
  let seq = Math.max(0, newest - lateWindow());
  while (seq < newest && messages.has(seq + 1)) seq += 1;
  return seq;
}

function addMessages(id, messages) {
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

/** Leaving a conversation: a failed reply held in the box becomes a line of its transcript, and
 * the box is emptied, so Enter in the next conversation never sends it to the wrong customer. */
function leaveBox(id) {
  const boxed = state.conversations.get(id)?.kept.find((k) => !k.line);
  if (!boxed) return;
  boxed.line = true;
  const box = $("#reply-text");
  if (box.value.trim() === boxed.text) box.value = "";
}

function drop(id, message) {
  if (state.selected === id) leaveBox(id);
  state.conversations.delete(id);
  if (state.selected === id) { state.selected = null; deliveriesSelect(null); renderConversation(); toast(message); }
  renderTabs();
}

function select(id) {
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

// --- transfer -------------------------------------------------------------------------------

/** The services this conversation may be transferred to, as the rules allow (read on select). */
async function loadTargets(id) {
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

function renderTabs(unread = null) {
  const tabs = $("#conv-tabs");
  const previous = new Set($$("button.unread", tabs).map((b) => b.dataset.conversation));
  if (unread) previous.add(unread);
  tabs.replaceChildren(...[...state.conversations.values()].map((c, i) => h("button", {
    type: "button", class: `small${previous.has(c.id) && c.id !== state.selected ? " unread" : ""}`,
    "aria-pressed": String(c.id === state.selected), dataset: { conversation: c.id },
    onclick: () => select(c.id),
  }, `${i + 1}. ${c.service || "conversa"}${previous.has(c.id) && c.id !== state.selected ? " •" : ""}`)));
}

function renderConversation() {
  const conversation = state.conversations.get(state.selected);
  $("#conversation").classList.toggle("hidden", !conversation);
  $("#no-conversation").classList.toggle("hidden", !!conversation);
  $("#transfer-form").classList.toggle("hidden", !conversation);
  $("#finish").classList.toggle("hidden", !conversation);
  $("#conv-error").textContent = "";
  if (!conversation) { $("#variables").replaceChildren(h("dt", { class: "sr-only" }, "Variáveis"), h("dd", { class: "muted" }, "—")); return; }
  renderTargets();
  $("#conv-info").textContent = `Serviço ${conversation.service || "—"}${conversation.waited !== null ? ` · esperou ${duration(conversation.waited)}` : ""}`;
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

function unsentLine({ text }) {
  return h("div", { class: "msg system failure unsent", role: "note", dataset: { text } },
    `⚠ Não enviada: “${text}”. Envie o mesmo texto para tentar de novo.`);
}

/** The screen shows an agent message as applied (from the stream, a transcript read or an
 * answer): its reply in flight has reached the server, or else that failed reply is forgotten
 * and no longer waits for a retry (as a line of the transcript, gone at the next render, or in
 * the box, which another failure of its text shown as a line takes, or else is emptied): the
 * same text sent after that is a new message (under the old id it would be deduplicated away).
 * Which reply it is, the entry's message_id says (the server shows the agent the ids of its own
 * replies, whichever screen sent them); an entry without one is no reply of this screen's: two
 * replies of the same text (this tab's and another's, or "ok" twice) are never told apart by
 * their text, and the other failures of the text still wait. */
function arrived(conversation, message) {
  const id = message.message_id;
  if (!id) return;
  const flight = [...sending].find((f) => f.conversation === conversation.id && f.id === id);
  if (flight) { flight.applied = true; return; }
  const failed = conversation.kept.find((k) => k.id === id);
  if (!failed) return;
  conversation.kept.splice(conversation.kept.indexOf(failed), 1);
  const box = $("#reply-text");
  if (failed.line || state.selected !== conversation.id || box.value.trim() !== failed.text) return;
  const next = conversation.kept.find((k) => k.text === failed.text && k.line);
  if (next) next.line = false; // now the box's
  else box.value = "";
}

// A reply that failed is kept, with its id, in its conversation: the failure may have come after
// the server had it, so the same text sent again to the same conversation is a retry under the
// id of its oldest failure (delivered once); another text, or another conversation, is another
// message. The failed text goes back to the box, or, if the box holds another text or the same
// one for another failure (or the agent went to another conversation), it is a line of its
// conversation's transcript, so none is lost ("ok" failing twice: the box and a line).
$("#reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("#reply-text");
  const text = box.value.trim();
  const conversation = state.conversations.get(state.selected);
  if (!text || !conversation) return;
  const id = conversation.id;
  const retried = conversation.kept.find((k) => k.text === text); // the oldest failure of this text
  const flight = { conversation: id, id: retried?.id ?? crypto.randomUUID(), text, applied: false };
  if (retried) conversation.kept.splice(conversation.kept.indexOf(retried), 1);
  if (retried?.line) { // on its way again: its line goes, or is now that of the box's failure
    const boxed = conversation.kept.find((k) => k.text === text && !k.line);
    if (boxed) boxed.line = true;
    else renderConversation();
  }
  sending.add(flight);
  box.value = ""; // free for the next message while this one is in flight
  $("#conv-error").textContent = "";
  try {
    const body = { text, message_id: flight.id };
    const message = await api(`/api/agent/conversations/${id}/messages`, { method: "POST", body, token: "agent" });
    addMessages(id, [message]);
  } catch (error) {
    if (flight.applied) return; // shown meanwhile: the server had it
    const still = state.conversations.get(id); // not transferred or finished meanwhile
    const failure = { id: flight.id, text, line: true };
    if (state.selected !== id) {
      still?.kept.push(failure);
      toast(`A mensagem para a outra conversa não foi enviada: ${reason(error)}`);
      return;
    }
    if (!box.value) box.value = text; // back in the box for a retry
    // the box holds the text already (typed again): it stands for this one, unless for another
    failure.line = box.value.trim() !== text || still.kept.some((k) => k.text === text && !k.line);
    still.kept.push(failure);
    if (failure.line) renderConversation();
    $("#conv-error").textContent = reason(error);
  } finally {
    sending.delete(flight);
  }
});
$("#reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("#reply-form").requestSubmit(); }
});

$("#transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const service = form.service.value.trim();
  const extension = form.extension.value.trim();
  $(".form-error", form).textContent = "";
  if (!service === !extension) { $(".form-error", form).textContent = "Escolha um serviço ou informe um ramal (apenas um)."; return; }
  const id = state.selected;
  try {
    const result = await api(`/api/agent/conversations/${id}/transfer`, {
      method: "POST", body: service ? { service } : { extension }, token: "agent",
    });
    form.reset();
    drop(id, `Conversa transferida para ${result.service}.`);
    toast(`Conversa transferida para ${result.service}.`);
  } catch (error) {
    $(".form-error", form).textContent = error.status === 422 && Array.isArray(error.detail)
      ? "Ramal deve ter 3 dígitos." : `Transferência recusada: ${reason(error)}`;
    loadTargets(id); // the rules may have changed since the list was read
  }
});

async function finish(returnToBot) {
  const id = state.selected;
  if (!id) return;
  try {
    await api(`/api/agent/conversations/${id}/finish`, { method: "POST", body: { return_to_bot: returnToBot, ...deskFinish() }, token: "agent" });
    drop(id, returnToBot ? "Atendimento finalizado: o cliente voltou ao bot." : "Conversa encerrada.");
    toast(returnToBot ? "Atendimento finalizado: o cliente voltou ao bot." : "Conversa encerrada.");
  } catch (error) {
    $("#conv-error").textContent = reason(error);
  }
}
$("#finish-bot").addEventListener("click", () => finish(true));
$("#finish-end").addEventListener("click", () => finish(false));

start();
deskMedia({ selected: () => state.selected, onMessage: (id, message) => addMessages(id, [message]) });
