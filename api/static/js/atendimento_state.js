// Tela de Atendimento: what its modules share — the agent, the queues, the conversations in
// service, the replies in flight — and how the screen says a refusal.
import { codeText } from "./common.js";

export const state = {
  me: null,
  queue: [],          // [{conversation_id, service, waiting_seconds, preview, choice, since}]
  conversations: new Map(), // id → {id, service, contactName, contact, variables, waited, messages: Map(seq → message), targets, kept, closed}
  selected: null,
  live: false,
  listed: new Set(), // the ids of the stream's last `conversations` event
  connection: 0, // the stream's connections so far
  asking: false, // "Atender próximo" is waiting for its answer
  finishing: null, // the id of the conversation whose finish is in flight (atendimento_actions.js)
  restored: false, // the first list of conversations was applied: a customer message now is news
  putDown: false, // the agent finished or transferred the one on screen: the list opens no other
};
export const sending = new Set(); // {conversation, id, text, applied}: the replies in flight

/** Why the API said no, in pt-BR (by the error's code; the page adds the agent's capacity). */
export function reason(error) {
  return codeText(error, { capacity: state.me?.capacity });
}

export function ensure(id) {
  if (!state.conversations.has(id)) {
    state.conversations.set(id, {
      id, service: null, variables: null, waited: null, messages: new Map(), targets: null,
      contactName: null, contact: null, // the name the contact gave, the end of its id (atendimento_list.js)
      kept: [], // {id, text, line}: the replies that failed, oldest first (see the reply form);
      // `line`: shown as a line of the transcript (else its text went back to the box)
      closed: null, // {why, draft}: it left the agent outside this screen (atendimento_view.js leftScreen)
    });
  }
  return state.conversations.get(id);
}

const SELECTED = "transbordo.atendimento.selected";

/** The conversation on screen, kept in the tab's sessionStorage so a reload opens it again
 * (none: `null`). */
export function remember(id) {
  try {
    if (id) sessionStorage.setItem(SELECTED, id);
    else sessionStorage.removeItem(SELECTED);
  } catch { /* not kept: a reload opens the first one */ }
}

export function remembered() {
  try {
    return sessionStorage.getItem(SELECTED);
  } catch {
    return null;
  }
}
