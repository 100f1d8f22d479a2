// Web addresses in a message's text as links, as every chat shows them (the web chat's bubbles;
// the agent's screen). Built as elements, never as HTML: the text around stays text. Only
// http(s) addresses become links, opened in a new tab that gets neither this page (noopener)
// nor where the click came from (noreferrer).
import { h } from "./dom.js";

const ADDRESS = /\bhttps?:\/\/[^\s<>"'`]+/gi;
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

/** The address without what ends the sentence around it ("veja https://x.com/a." → no dot; a
 * ")" only when it closes nothing inside the address, as in "(https://x.com/a)"). */
function trimmed(address) {
  let end = address.length;
  while (end > 0) {
    const last = address[end - 1];
    if (".,;:!?".includes(last)) end -= 1;
    else if (last in CLOSING && count(address.slice(0, end), CLOSING[last]) < count(address.slice(0, end), last)) end -= 1;
    else break;
  }
  return address.slice(0, end);
}

function count(text, char) {
  return text.split(char).length - 1;
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
