// Web chat: which menu's buttons take a click. Only the newest menu's, and only while the bot
// still waits on it: once anyone but the bot has said something after it (the customer's typed
// answer, an agent, a queue notice), the conversation went to a person or ended, or the flow
// moved to another block by itself (a timeout), its buttons are inert, as old buttons are on
// WhatsApp and Blip. Otherwise "Encerrar" clicked during human service would reach the agent as
// the word "Encerrar" while the customer thinks it ends the chat.
import { $, $$ } from "./common.js";

let handedOver = 0; // the conversation was a person's (or over) as of this seq: menus up to it are inert
const TOLD_KEPT = 50;
let told = []; // the stream's `status` events of this conversation ({status, block, seq}), in order

/** Where the conversation stands, from the stream (`event: status`, asked with `?status=true`):
 * gone to a person (or the voicemail) makes the menus shown so far inert, as `statusAt`; moved
 * to another block by itself (a menu's `timeout_seconds`, an escape route's jump) makes inert
 * the menus asked in the block it left. */
export function statusTold(now) {
  statusAt(now.status, now.seq);
  told.push(now);
  if (told.length > TOLD_KEPT) told = told.slice(-TOLD_KEPT);
}

/** The conversation's `status` as of `seq` (a turn's answer, the conversation read at a reload):
 * waiting, in service, voicemail or ended make the menus shown so far inert. */
export function statusAt(status, seq) {
  if (status && status !== "bot" && seq > handedOver) handedOver = seq;
}

/** The conversation ended, or the page follows another one (whose seqs start again from 1): the
 * menus shown so far take no click any more. */
export function retireMenus(log) {
  for (const menu of $$(".msg.menu", log)) menu.dataset.inert = "true";
  handedOver = 0;
  told = [];
}

/** Enable the newest menu's buttons while the bot waits on it; disable every other's. */
export function refreshMenus(log) {
  const menus = $$(".msg.menu", log);
  menus.forEach((menu, i) => {
    const live = i === menus.length - 1 && !$("[data-chosen]", menu) && stillAsked(menu);
    for (const b of $$("button", menu)) b.disabled = !live;
  });
}

/** Only the bot's own texts came after `menu` (an escape route's "Ainda está aí?" leaves the
 * flow where it was), and the conversation had not gone to a person by then. */
function stillAsked(menu) {
  if (menu.dataset.inert || Number(menu.dataset.seq) <= handedOver || movedPast(menu)) return false;
  for (let next = menu.nextElementSibling; next; next = next.nextElementSibling) {
    if (next.matches(".unsent")) continue; // a failed send, not said: the box or a retry says it
    if (!next.matches(".msg.bot")) return false; // a typed answer (even in flight), a person, a notice
  }
  return true;
}

/** The conversation stands in another block than when `menu` was asked: the block then is the
 * one the stream told first at or after the menu's seq (the row is read before the log, so a
 * menu's own turn is told with it; a page that opens after the move cannot tell, and keeps the
 * menu as the bot's texts alone would). */
function movedPast(menu) {
  const seq = Number(menu.dataset.seq);
  const then = told.filter((t) => t.seq >= seq).reduce((a, b) => (b.seq < a.seq ? b : a), { seq: Infinity });
  const now = told[told.length - 1];
  return Boolean(now && then.seq !== Infinity && now.block !== then.block);
}
