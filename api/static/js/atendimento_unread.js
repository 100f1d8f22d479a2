// Tela de Atendimento: what the agent has not seen yet, counted in the tab's title, so an agent
// with the tab in the background (or another conversation on screen) sees that a customer
// waits: "(2) Tela de Atendimento · Transbordo". Unread: a conversation the agent holds where
// the customer wrote (or that came to the agent) while it was not in front of the agent — the
// browser tab hidden, or another conversation on screen (its tab marked "•" too); a customer new
// in the agent's queues while the browser tab was hidden. Seen: the conversation on screen with
// the tab visible; the queues, once the tab is visible again. The open offers (ofertas.js)
// count too, and then the title says "Nova conversa": one title, written here alone.
import { state } from "./atendimento_state.js";

const TITLE = document.title; // the page's own
export const unread = new Set(); // conversation ids: held ones, and waiting ones (the queues)
let offers = 0;

/** The page is in front of the agent (not a background tab, not a minimized window). */
export const visible = () => document.visibilityState === "visible";

function showTitle() {
  const count = unread.size + offers;
  document.title = count ? `(${count}) ${offers ? "Nova conversa — " : ""}${TITLE}` : TITLE;
}

/** How many offers ring now (ofertas.js). */
export function offersOpen(count) {
  offers = count;
  showTitle();
}

/** Something new in the held conversation `id`: unread, unless on screen in front of the agent. */
export function news(id) {
  if (id === state.selected && visible()) return;
  unread.add(id);
  showTitle();
}

/** `id` seen (on screen, the tab visible), or gone from the screen. */
export function seen(id) {
  if (unread.delete(id)) showTitle();
}

/** The queues list `ids` now, `before` before: a customer new there is unread while the tab is
 * hidden; one that left them (taken, gone) is no news any more, unless the agent holds it. */
export function queueChanged(before, ids) {
  for (const id of ids) if (!before.has(id) && !visible()) unread.add(id);
  for (const id of [...unread]) if (!ids.includes(id) && !state.conversations.has(id)) unread.delete(id);
  showTitle();
}

// Back in front of the agent: the queues are seen (always on screen), and so is the conversation open.
document.addEventListener("visibilitychange", () => {
  if (!visible()) return;
  for (const id of [...unread]) if (!state.conversations.has(id) || id === state.selected) unread.delete(id);
  showTitle();
});
