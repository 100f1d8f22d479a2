// Tela de Atendimento: the conversations in the agent's service, as the stream lists them (or
// the polling reads them): new ones loaded from the log page by page, gone ones closed.
import { $ } from "./dom.js";
import { ApiError, api } from "./common.js";
import { forgetDrafts } from "./atendimento_composer.js";
import { ensure, remembered, state } from "./atendimento_state.js";
import { addMessages, customerOf, leftScreen, renderInfo, renderTabs, select, toldWhy } from "./atendimento_view.js";

const TRANSCRIPT_PAGE = 500; // the most a transcript read returns (PageSize)
let listing = Promise.resolve();

/** The stream's list of conversations in service, one list after the other (one that is still
 * loading must not drop a conversation a later list added), and only while its connection is
 * the current one (the next connection's first list reads them all again). */
export function setConversations(ids) {
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
    if (ensure(id).closed) reopen(id); // left, and came back (e.g. from the queue)
    if (!known) describe(id); // not awaited: a slow name must not hold the transcripts back
    try {
      await refreshMessages(id);
    } catch (error) { // read again with the next list
      state.listed.delete(id);
      console.warn(`conversation ${id}:`, error);
    }
  }
  for (const id of held) {
    if (!ids.includes(id) && state.conversations.has(id) && !state.conversations.get(id).closed) departed(id);
  }
  forgetDrafts(new Set(state.conversations.keys())); // of conversations gone while the page was not looking
  if (!ids.length) state.putDown = false; // none left: the next one to come opens
  // none on screen: the one the agent was on before a reload, else the first; but not after
  // the agent finished or transferred the one on screen (a double click's second click would
  // finish a conversation the agent never saw): then the agent chooses
  if (!state.selected && !state.putDown && ids.length) select(ids.includes(remembered()) ? remembered() : ids[0]);
  state.restored = true;
  renderTabs();
}

/** A conversation the agent had left its service outside this screen: closed on screen at
 * once (no box sends to it any more), then told why, as the server has it now. */
function departed(id) {
  leftScreen(id);
  whyLeft(id).then((why) => toldWhy(id, why));
}

/** Why it left, from where the conversation is now: no longer with a person (409: the
 * customer left, e.g. the web chat's "Nova conversa", or stopped answering and the service
 * closed it; the workflow's own notice is logged after the agent's stream let it go), back in
 * a queue the agent sees, or elsewhere (another agent, another service). */
async function whyLeft(id) {
  const conversation = state.conversations.get(id);
  const who = conversation ? customerOf(conversation) : "O cliente";
  try {
    const now = await api(`/api/agent/conversations/${encodeURIComponent(id)}?name=false`, { token: "agent" });
    if (now.status === "waiting") return `A conversa de ${who} voltou para a fila.`;
  } catch (error) {
    if (error instanceof ApiError && error.code === "not_with_human_service") return `${who} saiu da conversa.`;
  }
  return `A conversa de ${who} saiu do seu atendimento.`;
}

/** A closed conversation listed again: open, its transcript read on from where it stopped. */
function reopen(id) {
  state.conversations.get(id).closed = null;
  if (state.selected === id) { state.selected = null; select(id); }
}

/** Who the conversation's customer is and its service, for its tab and its line (drawn again
 * as each answer comes): asked twice at once, as neither may wait for the other nor hold the
 * transcript back. The end of the contact id and the service come from SQL at once; the name
 * the contact gave comes from its workflow, up to 2 s when no worker answers (then none); while
 * it waits, or when it fails, the tab is named by the end of the contact id. */
export function describe(id) {
  lookup(id, false);
  lookup(id, true);
}

async function lookup(id, name) {
  try {
    const query = name ? "" : "?name=false";
    const info = await api(`/api/agent/conversations/${encodeURIComponent(id)}${query}`, { token: "agent" });
    const conversation = state.conversations.get(id);
    if (!conversation) return;
    Object.assign(conversation, { service: info.service, contact: info.contact });
    if (info.contact_name) conversation.contactName = info.contact_name; // never unnamed again
    renderTabs();
    if (state.selected === id) renderInfo();
  } catch { /* shown without them: by what the other lookup said, else by its short id */ }
}

/** Read the log again from the first seq the screen lacks among the newest lateWindow() (a
 * message recorded late, after later ones, is read once it has come), page by page. */
export async function refreshMessages(id) {
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
