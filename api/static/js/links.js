// Web addresses in a message's text as links, as every chat shows them (the web chat's bubbles;
// the agent's screen). Built as elements, never as HTML: the text around stays text. Only
// http(s) addresses become links, opened in a new tab that gets neither this page (noopener)
// nor where the click came from (noreferrer).
import { h } from "./dom.js";

const ADDRESS = /\bhttps?:\/\/[^\s<>"'`“”‘’«»‹›]+/gi;
const ENDING = ".,;:!?…。*";
const CLOSING = { ")": "(", "]": "[", "}": "{" };

/** `text` as strings and <a> elements, in order (what a bubble appends). */
export function linked(text) {
  const parts = [];
  let from = 0;
  for (const match of (text || "").matchAll(ADDRESS)) {
    const address = trimmed(match[0]);
    const href = webAddress(address);
    if (!href) continue;
    parts.push(text.slice(from, match.index),
      h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, address));
    from = match.index + address.length;
  }
  parts.push((text || "").slice(from));
  return parts.filter((part) => part !== "");
}

/** The address without what ends the sentence around it ("veja https://x.com/a." → no dot, nor
 * "…" or "*"; a ")" only when it closes nothing inside the address, as in "(https://x.com/a)").
 * One pass over the address: its brackets counted once, then as they are trimmed. */
function trimmed(address) {
  const open = { "(": 0, "[": 0, "{": 0 };
  const shut = { ")": 0, "]": 0, "}": 0 };
  for (const char of address) {
    if (char in open) open[char] += 1;
    else if (char in shut) shut[char] += 1;
  }
  let end = address.length;
  while (end > 0) {
    const last = address[end - 1];
    if (ENDING.includes(last)) end -= 1;
    else if (last in CLOSING && open[CLOSING[last]] < shut[last]) { shut[last] -= 1; end -= 1; }
    else break;
  }
  return address.slice(0, end);
}

/** The address as the browser reads it, when it is an http(s) one with a host; else null. */
function webAddress(address) {
  try {
    const url = new URL(address);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname ? url.href : null;
  } catch {
    return null;
  }
}
