// Delivery status of the bot's and the agent's messages on the customer's WhatsApp or Telegram
// (GET /api/agent/conversations/{id}/deliveries): enviada, entregue, lida, falhou, under each
// message of the Tela de Atendimento. Statuses come without a transcript change: polled while a
// conversation is selected (and the tab is visible).
import { h } from "./dom.js";
import { api } from "./common.js";

const LABELS = { sent: "enviada", delivered: "entregue", read: "lida", failed: "falhou" };
const RANK = { sent: 1, delivered: 2, read: 3 };
const POLL_MS = 5000;
const deliveries = { conversation: null, bySeq: new Map(), timer: null };

/** seq → status of each entry: the least advanced of its parts; any failed part: failed. */
export function entryStatuses(rows) {
  const bySeq = new Map();
  for (const row of rows) {
    if (row.seq < 0 || !(row.status in LABELS)) continue; // a template (seq -1) is no entry
    const before = bySeq.get(row.seq);
    if (before === "failed" || row.status === "failed") bySeq.set(row.seq, "failed");
    else if (!before || RANK[row.status] < RANK[before]) bySeq.set(row.seq, row.status);
  }
  return bySeq;
}

/** Called by atendimento_view.js when the agent selects a conversation (or none). */
export function deliveriesSelect(id) {
  deliveries.conversation = id;
  deliveries.bySeq = new Map();
  clearInterval(deliveries.timer);
  deliveries.timer = null;
  if (!id) return;
  refresh();
  deliveries.timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

/** Puts the known statuses under the transcript's messages (after each render). */
export function deliveriesMark() {
  for (const message of document.querySelectorAll("#transcript .msg[data-seq]")) {
    const status = deliveries.bySeq.get(Number(message.dataset.seq));
    const mark = message.querySelector(".delivery");
    if (!status) { mark?.remove(); continue; }
    if (mark?.dataset.status === status) continue;
    const shown = h("span", { class: `delivery ${status}`, dataset: { status }, title: "Status de entrega" },
      LABELS[status]);
    if (mark) mark.replaceWith(shown); else message.append(shown);
  }
}

async function refresh() {
  const id = deliveries.conversation;
  let rows;
  try {
    rows = await api(`/api/agent/conversations/${encodeURIComponent(id)}/deliveries`, { token: "agent" });
  } catch {
    return; // finished or transferred meanwhile: the next select says so
  }
  if (id !== deliveries.conversation) return;
  deliveries.bySeq = entryStatuses(rows);
  deliveriesMark();
}
