// Tela de Atendimento: the replies that failed and wait for their retry (in the box, or as a
// "Não enviada" line of their conversation), and the error line (#conv-error) that says why:
// it stays while a failure it told of still waits, whatever else the screen draws meanwhile.
import { $, h } from "./dom.js";
import { keepDraft } from "./atendimento_composer.js";
import { sending, state } from "./atendimento_state.js";

let told = null; // {conversation, ids, why}: the error line says why these replies failed

/** A reply of the open conversation failed: `why` on the error line, for as long as that
 * failure (or another the line told of, still waiting) waits for its retry. */
export function replyError(conversation, failure, why) {
  const ids = saying() && waits() ? [...told.ids, failure.id] : [failure.id];
  $("#conv-error").textContent = why;
  told = { conversation: conversation.id, ids, why };
}

export function clearError() {
  $("#conv-error").textContent = "";
  told = null;
}

/** The open conversation is drawn again: the error line is cleared, unless it says why a reply
 * that still waits failed (a message coming meanwhile does not take the reason away). */
export function errorOnRender() {
  if (!(saying() && waits())) clearError();
}

/** The box was edited: a failure whose text it held no longer waits there, and its reason goes
 * (another error on the line, not a reply's, stays as before). */
export function boxEdited() {
  if (!saying()) told = null;
  else if (!waits()) clearError();
}

/** The error line still says the reply failures of `told`, in the conversation on screen. */
function saying() {
  return !!told && told.conversation === state.selected && $("#conv-error").textContent === told.why;
}

/** One of them still waits: as a line, or in the box (the box holding its text). */
function waits() {
  const conversation = state.conversations.get(told.conversation);
  const box = $("#reply-text").value.trim();
  return !!conversation?.kept.some((k) => told.ids.includes(k.id) && (k.line || box === k.text));
}

/** Leaving a conversation: a failed reply held in the box becomes a line of its transcript, and
 * is taken out of the box, so it is no draft either (what else the box holds is: the caller
 * keeps it, atendimento_composer.js). */
export function leaveBox(id) {
  const boxed = state.conversations.get(id)?.kept.find((k) => !k.line);
  if (!boxed) return;
  boxed.line = true;
  const box = $("#reply-text");
  if (box.value.trim() === boxed.text) box.value = "";
}

export function unsentLine({ text }) {
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
export function arrived(conversation, message) {
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
  else { box.value = ""; keepDraft(); }
}
