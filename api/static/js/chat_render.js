// Web chat: how a transcript entry looks — a bubble saying who spoke (a menu's options as
// buttons), a notice, the queue's carousel of cards. The clicks go back to the page (`choose`).
import { h } from "./dom.js";
import { chatAttachment } from "./chat_media.js";
import { supervisorTitle } from "./atendimento_supervisor.js";
import { linked } from "./links.js";

/** Who said it, for assistive technology (CSS content: read aloud, not part of the text). */
export const WHO_PT = { customer: "Você disse", bot: "Bot", agent: "Atendente", supervisor: "Supervisor" };

/** The element of a transcript entry; `choose(event, text)` answers a menu or a card button,
 * `media`: what an attachment's view needs (chat_media.js `chatAttachment`). */
export function render(m, { choose, media }) {
  if (m.kind === "card") return carousel(m.data?.cards || [], choose);
  if (m.kind === "wait_time_notice") return h("div", { class: "wait", role: "status" }, m.text);
  if (m.from === "system" || m.kind === "notice") return h("div", { class: "msg system" }, m.text);
  const bubble = h("div", { class: `msg ${m.from}`, dataset: { who: WHO_PT[m.from] || m.from } });
  if (m.from === "agent" && m.data?.agent) bubble.append(h("span", { class: "who" }, m.data.agent));
  if (m.from === "supervisor") bubble.append(h("span", { class: "who" }, supervisorTitle(m.data?.supervisor)));
  const attachment = chatAttachment(m, media);
  if (attachment) bubble.append(attachment);
  else bubble.append(...linked(m.text)); // web addresses as links (links.js)
  if (m.kind === "menu" && m.options?.length) {
    bubble.classList.add("menu");
    bubble.append(h("div", { class: "options", role: "group", "aria-label": "Opções" },
      m.options.map((option) => h("button", { type: "button", onclick: (event) => choose(event, option) }, option))));
  }
  return bubble;
}

function carousel(cards, choose) {
  return h("div", { class: "carousel", role: "group", "aria-label": "Enquanto você espera" },
    cards.map((card) => h("article", {},
      secureImage(card.image_url) ? h("img", { src: card.image_url, alt: "" }) : null,
      h("div", { class: "content" }, h("h3", {}, card.title), h("p", {}, card.text)),
      card.buttons?.length ? h("div", { class: "buttons" }, card.buttons.map((b) => (b.url
        ? h("a", { class: "button", href: b.url, target: "_blank", rel: "noopener noreferrer" }, b.label)
        : h("button", { type: "button", onclick: (event) => choose(event, b.payload) }, b.label)))) : null)));
}

/** The chat's CSP loads https: images only (of its cards' origins, api/routes/pages.py): a card
 * saved before that rule (http:) shows none rather than a blocked image and a console error. */
function secureImage(url) {
  return typeof url === "string" && url.toLowerCase().startsWith("https://");
}
