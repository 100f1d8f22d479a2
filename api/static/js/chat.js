// Web chat: a customer talking to a bot. The page first asks the server for a web session
// (POST /api/bots/{bot}/web-sessions: the server chooses the contact); every request then
// carries it as a bearer token. Messages go out with POST /api/bots/{bot}/messages; everything
// in the conversation (bot, agent, notices, carousel cards) comes back from the conversation's
// SSE stream, read with fetch (EventSource cannot send the token) and resumed by Last-Event-ID,
// with where the conversation stands (`status` events: the menu the flow waits on, if any).
import { $, $$, h } from "./dom.js";
import { ApiError, readSSE } from "./common.js";
import { agentSpoke, agentTyping, chatMedia } from "./chat_media.js";
import { messageBox, overLimit, setBox } from "./chat_composer.js";
import { refreshMenus, retireMenus, statusAt, statusTold } from "./chat_menus.js";
import { NoSession, refusalOf, unanswered } from "./chat_refusals.js";
import { WHO_PT, render } from "./chat_render.js";

const bot = window.TRANSBORDO_BOT;
const keys = {
  session: `transbordo.chat.${bot}.session`,
  conversation: `transbordo.chat.${bot}.conversation`,
  name: "transbordo.chat.name",
};
const log = $("#log");
const shown = new Map(); // seq → element
let source = null; // the AbortController of the open stream
let conversationId = localStorage.getItem(keys.conversation);
let ended = null; // the conversation whose stream said "end": a late answer must not reopen it
let chat = 0; // "Nova conversa" counts up: an answer to a send of an earlier chat is not shown
// The sends that failed, oldest first: the failure may have come after the server had applied
// it (a 503 on the way back, a lost connection), so a failed text sent again is a retry under
// the id of its oldest failure (the bot takes it once). A failure is forgotten once the page
// shows that message as applied (the same text sent after that, e.g. "sim" to the bot's next
// question, is a new answer: under the old id it would be deduplicated away), and at "Nova
// conversa". Two failures of the same text ("ok" said twice) are two entries, each with its id.
// A send is told apart from another of the same text only by its id: the stream's customer
// entries carry the ids this page gave them (message_id), never guessed from their text.
const failures = []; // {id, text, group}: `group`, the menu (or carousel) a click was in
const sending = new Set(); // {id, text, chat, applied, group}: the sends in flight
let previousSend = Promise.resolve(); // the last send's end: before a conversation exists, the next waits for it
let refusal = null; // {why, id}: the status line a failed send left, and that send's id
const ENDED = "Conversa encerrada. Envie uma mensagem para começar outra.";

/** The browser's session with this bot, asked for again when missing or about to expire. */
let opening = null; // the session being asked for, so two callers share one

async function session() {
  const kept = JSON.parse(localStorage.getItem(keys.session) || "null");
  if (kept && Date.parse(kept.expires_at) - Date.now() > 60_000) return kept.token;
  if (!opening) {
    const asking = openSession(chat).finally(() => { if (opening === asking) opening = null; });
    opening = asking;
  }
  return opening;
}

/** A new session, kept only if no "Nova conversa" came meanwhile: the old chat's send still
 * goes out with it, but the new chat asks for a contact of its own. */
async function openSession(askedIn) {
  const response = await fetch(`/api/bots/${encodeURIComponent(bot)}/web-sessions`, { method: "POST" });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new NoSession(refusalOf(response, answer));
  if (askedIn !== chat) return answer.token;
  localStorage.setItem(keys.session, JSON.stringify(answer));
  localStorage.removeItem(keys.conversation); // a new session is a new contact
  conversationId = null;
  return answer.token;
}

async function authorized(path, options = {}) {
  const token = await session();
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
  return fetch(path, { ...options, headers });
}

function status(text) { $("#status-line").textContent = text; }

// --- sending --------------------------------------------------------------------------------

/** Send a message (`group`: the menu or carousel buttons it was clicked in); true once the
 * server took it. */
async function send(text, group = null) {
  text = text.trim();
  if (!text) return false;
  const sentIn = chat;
  const retried = failures.find((f) => f.text === text); // the oldest failure of this text
  if (retried) failures.splice(failures.indexOf(retried), 1);
  showUnsent(text); // on its way again: one line fewer
  // a typed retry of a failed click is that click's: taken, its menu shows as chosen
  const flight = { id: retried?.id ?? crypto.randomUUID(), text, chat, applied: false, group: group ?? retried?.group ?? null };
  const pending = h("div", { class: "msg customer pending", dataset: { id: flight.id, who: WHO_PT.customer } }, text);
  log.append(pending);
  scroll();
  const name = $("#contact-name").value.trim();
  sending.add(flight);
  const body = { message_id: flight.id, text };
  if (name) body.contact = { name };
  status("enviando…");
  const before = previousSend;
  let done;
  previousSend = new Promise((resolve) => { done = resolve; });
  try {
    // two quick first messages must not race to start the conversation (the second would
    // start it, the first then answer its menu); once one is open, its workflow keeps order
    if (!conversationId) await before;
    if (sentIn !== chat) return false; // "Nova conversa" while it waited: never the new chat's
    const response = await authorized(`/api/bots/${encodeURIComponent(bot)}/messages`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (sentIn !== chat) return response.ok; // "Nova conversa" meanwhile: not this chat's
    if (!response.ok) {
      pending.remove();
      if (response.status === 401) localStorage.removeItem(keys.session);
      return refused(flight, refusalOf(response, answer));
    }
    status(response.status === 202 ? "Mensagem recebida; a resposta chega em instantes." : "");
    if (flight.group?.isConnected) chosen(flight.group);
    took(answer);
    return true;
  } catch (error) {
    if (sentIn !== chat) return false;
    pending.remove();
    return refused(flight, unanswered(error));
  } finally {
    sending.delete(flight);
    done();
  }
}

/** A send failed: it is kept for a retry of its text, unless the page has shown the message
 * meanwhile (the server had it: taken, not failed). */
function refused(flight, why) {
  refreshMenus(log); // a typed answer that failed no longer stands after the menu
  if (flight.applied) { status(""); return true; }
  failures.push({ id: flight.id, text: flight.text, group: flight.group });
  status(why);
  refusal = { why, id: flight.id };
  return false;
}

/** The page shows a customer message as applied (from the stream): its send in flight has
 * reached the server, or else that failure is forgotten (the others of the same text still wait
 * for a retry), and it no longer waits in the box or as a line of the log; a failed menu click
 * shows as chosen, as a click that went through. Which send it is, the entry's message_id says
 * (the page's own, from its stream); an entry without one is no send of this page's (two sends
 * of the same text are never told apart by their text). */
function arrived(message) {
  const id = message.message_id;
  if (!id) return;
  const flight = [...sending].find((f) => f.chat === chat && f.id === id);
  if (flight) {
    flight.applied = true;
    if (flight.group?.isConnected) chosen(flight.group);
    return;
  }
  const failed = failures.find((f) => f.id === id);
  if (!failed) return;
  failures.splice(failures.indexOf(failed), 1);
  if (failed.group?.isConnected) chosen(failed.group);
  const input = $("#text");
  const inBox = input.value.trim() === failed.text;
  const waits = inBox && typed(failed.text).length > 0; // the box is another failure's of the text
  if (inBox && !waits) setBox("");
  showUnsent(failed.text);
  const line = $("#status-line").textContent;
  if (!waits && refusal && line === refusal.why && (inBox || refusal.id === id)) status("");
}

/** The failed sends of `text` typed in the box (a failed click shows as its buttons). */
function typed(text) {
  return failures.filter((f) => f.text === text && !f.group);
}

/** Each failed send of `text` typed in the box stays in sight until it is applied or sent
 * again: one in the box (when the box holds the text), the others as lines of the log ("Não
 * enviada"), so none is lost; sent again as is, each is a retry under its own id. */
function showUnsent(text) {
  const lines = $$(".msg.unsent", log).filter((line) => line.dataset.text === text);
  const inBox = $("#text").value.trim() === text ? 1 : 0;
  const wanted = Math.max(0, typed(text).length - inBox);
  for (const line of lines.slice(wanted)) line.remove();
  for (let shown = lines.length; shown < wanted; shown += 1) {
    log.append(h("div", { class: "msg system unsent", role: "status", dataset: { text } },
      `Não enviada: “${text}”. Envie o mesmo texto para tentar de novo.`));
    scroll();
  }
}

/** A menu option or a carousel button: its whole group is disabled at the first click (a
 * double click must not send twice; the second would answer the next block) and enabled
 * again only if the send fails (and disabled again if the stream then shows it applied). */
async function choose(event, text) {
  const group = event.currentTarget.closest("[role=group]");
  chosen(group);
  if (await send(text, group)) return;
  if (!failures.some((f) => f.group === group)) return; // shown applied meanwhile: chosen
  delete group.dataset.chosen;
  for (const b of $$("button", group)) b.disabled = false;
  refreshMenus(log); // an older menu stays disabled
}

function chosen(group) {
  group.dataset.chosen = "true";
  for (const b of $$("button", group)) b.disabled = true;
}

/** A turn's answer: follow its conversation, show the replies. The stream may have shown the
 * last turn's replies and its end before the answer came back (it ends only once it has sent
 * everything): that conversation is not followed again (its transcript would be shown twice),
 * and the page still says it ended. */
function took(answer) {
  const id = answer.conversation_id;
  if (id && id === ended && id !== conversationId) { status(ENDED); return; } // shown already
  if (id && id !== conversationId) follow(id);
  for (const reply of answer.replies || []) show(reply);
  statusAt(answer.status, Math.max(0, ...(answer.replies || []).map((r) => r.seq)));
  refreshMenus(log);
}

/** What the file button and an attachment's view need of the page (chat_media.js). */
const media = {
  bot, authorized, conversation: () => conversationId, chat: () => chat, onTurn: took, status: (t) => status(t),
};

// --- receiving ------------------------------------------------------------------------------

/** Listen to a conversation's stream from the start (a new conversation) or after what we have. */
async function follow(id) {
  source?.abort();
  if (id !== conversationId) { // a new conversation numbers its messages from 1 again
    shown.clear();
    retireMenus(log);
    conversationId = id;
    localStorage.setItem(keys.conversation, id);
  }
  // from the first message: a restored page shows the whole transcript (duplicates are skipped);
  // reconnections resume with Last-Event-ID
  const stopper = new AbortController();
  source = stopper;
  readSSE(`/api/conversations/${id}/stream?status=true`, {
    token: await session(),
    signal: stopper.signal,
    onOpen: () => status(""),
    onEvent: ({ event, data }) => {
      if (stopper.signal.aborted) return false; // events left in a stream we stopped following
      if (event === "message") { show(JSON.parse(data)); return true; }
      if (event === "typing") { agentTyping(); return true; }
      if (event === "status") { statusTold(JSON.parse(data)); refreshMenus(log); return true; }
      if (event !== "end") return true;
      stopper.abort();
      if (source === stopper) source = null;
      ended = id;
      retireMenus(log);
      refreshMenus(log);
      if (conversationId === id) {
        status(ENDED);
        conversationId = null;
        localStorage.removeItem(keys.conversation);
      }
      return false;
    },
    onError: (error) => !(error instanceof ApiError && [401, 404].includes(error.status)),
  });
}

function show(message) {
  if (shown.has(message.seq)) return;
  if (message.from === "agent") agentSpoke(); // the typing it announced is done
  if (message.from === "customer" && message.message_id) {
    $$(".msg.pending", log).find((p) => p.dataset.id === message.message_id)?.remove();
    arrived(message);
  }
  const node = render(message, { choose, media });
  node.dataset.seq = message.seq;
  shown.set(message.seq, node);
  const later = [...shown.entries()].filter(([seq]) => seq > message.seq).sort((a, b) => a[0] - b[0])[0];
  if (later) log.insertBefore(node, later[1]);
  else log.insertBefore(node, $(".msg.pending", log)); // null → append
  refreshMenus(log);
  scroll();
}

function scroll() { log.scrollTop = log.scrollHeight; }

// --- start ----------------------------------------------------------------------------------

async function restore() {
  $("#contact-name").value = localStorage.getItem(keys.name) || "";
  if (!conversationId) {
    status("Envie uma mensagem para começar.");
    return;
  }
  const info = await authorized(`/api/conversations/${conversationId}`).catch(() => null);
  const known = info?.ok ? await info.json() : null;
  if (!known || known.status === "ended") {
    localStorage.removeItem(keys.conversation);
    conversationId = null;
    status("Envie uma mensagem para começar.");
    return;
  }
  statusAt(known.status, known.last_seq); // in human service: the bot's menus are done
  follow(conversationId);
}

$("#composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.text;
  if (overLimit()) { input.focus(); return; } // said under the box; the text stays
  const text = input.value.trim();
  const sentIn = chat;
  setBox("");
  input.focus();
  if ((await send(text)) || !text || sentIn !== chat) return;
  // a failed text comes back to the box for a retry (under its id); if another is typed there
  // meanwhile (or the same one came back from another failed send), it stays in the log
  if (!input.value) setBox(text);
  showUnsent(text);
});
$("#contact-name").addEventListener("change", (event) => localStorage.setItem(keys.name, event.target.value.trim()));
$("#new-chat").addEventListener("click", () => {
  // forget the old contact at once (a message typed right after must not go out as it), then
  // leave the old conversation with the old session's token
  const old = { id: conversationId, session: JSON.parse(localStorage.getItem(keys.session) || "null") };
  source?.abort();
  source = null;
  chat += 1;
  failures.length = 0;
  opening = null; // a session asked for by the old chat is not this one's
  previousSend = Promise.resolve(); // the new chat's first message waits for none of the old
  localStorage.removeItem(keys.conversation);
  localStorage.removeItem(keys.session); // a new chat is a new contact
  conversationId = null;
  shown.clear();
  log.replaceChildren();
  status("Nova conversa: envie uma mensagem para começar.");
  if (old.id && old.session) {
    fetch(`/api/conversations/${old.id}/leave`, {
      method: "POST", headers: { Authorization: `Bearer ${old.session.token}` },
    }).catch(() => null);
  }
});
chatMedia(media);
messageBox();
restore();
$("#text").focus();
