// Web chat: which menu's buttons take a click. Only the newest menu's, and only while the bot
// still waits on it: once anyone but the bot has said something after it (the customer's typed
// answer, an agent, a queue notice), the conversation went to a person or ended, or the flow
// moved to another block by itself (a timeout), its buttons are inert, as old buttons are on
// WhatsApp and Blip. Otherwise "Encerrar" clicked during human service would reach the agent as
// the word "Encerrar" while the customer thinks it ends the chat.
import { $, $$ } from "./dom.js";

let handedOver = 0; // the conversation was a person's (or over) as of this seq: menus up to it are inert
let standing = null; // the newest `status` the stream told: {status, block, seq, menu}

/** Where the conversation stands, from the stream (`event: status`, asked with `?status=true`):
 * gone to a person (or the voicemail) makes the menus shown so far inert, as `statusAt`; and
 * `menu` names the menu the flow waits on as of `seq` (null: none), so a menu up to that seq
 * that is not it takes no click, whatever the flow did without the customer (a timeout to
 * another block, a re-asked menu left for another block, a reload after either). Only the
 * newest is kept: a reconnection tells the current one again. */
export function statusTold(now) {
  statusAt(now.status, now.seq);
  if (!standing || now.seq >= standing.seq) standing = now;
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
  standing = null;
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

/** The stream told where the conversation stands as of `menu` or later, and the flow then
 * waited on another menu or on none (a menu newer than that is judged by its texts alone until
 * the stream tells its turn's status). */
function movedPast(menu) {
  const seq = Number(menu.dataset.seq);
  return Boolean(standing && standing.seq >= seq && standing.menu !== seq);
}
