// Tela de Atendimento: offers of automatic assignment. The screen rings for each open offer
// (the agent stream's `offers` event) with Aceitar (the normal pickup) and Recusar.
import { h } from "./dom.js";
import { api, codeText } from "./common.js";
import { duration } from "./format.js";
import { previewText, previewTitle } from "./atendimento_queue.js";
import { offersOpen } from "./atendimento_unread.js";

let ticker = null;

/** Show the open offers in #offers; `onAccepted(pickupAnswer)` opens the conversation. */
export function showOffers(offers, { onAccepted }) {
  const box = document.querySelector("#offers");
  const shown = [...box.querySelectorAll("[data-offer]")].map((card) => card.dataset.offer);
  if (shown.length && shown.join() === offers.map((offer) => offer.id).join()) {
    for (const offer of offers) { // the same offers, a choice read late: said where it rings
      const preview = box.querySelector(`[data-offer="${CSS.escape(offer.id)}"] .preview`);
      preview.textContent = previewText(offer);
      preview.title = previewTitle(offer);
    }
    return;
  }
  clearInterval(ticker);
  offersOpen(offers.length); // the title counts them (atendimento_unread.js)
  box.replaceChildren(...offers.map((offer) => {
    const error = h("div", { class: "form-error", role: "alert" });
    const left = h("span", { class: "muted offer-left", dataset: { until: offer.expires_at } });
    const answer = async (action) => {
      error.textContent = "";
      try {
        const result = await api(`/api/agent/offers/${offer.id}/${action}`, { method: "POST", token: "agent" });
        if (action === "accept") onAccepted(result);
        card.remove();
      } catch (failure) {
        error.textContent = codeText(failure);
      }
    };
    const card = h("div", { class: "offer ringing", role: "alertdialog", "aria-label": `Nova conversa de ${offer.service}`, dataset: { offer: offer.id, conversation: offer.conversation_id } },
      h("strong", {}, `Nova conversa · ${offer.service}`),
      h("div", { class: "preview", title: previewTitle(offer) }, previewText(offer)), // "Menu: …", as the queue says it
      left,
      h("div", { class: "row" },
        h("button", { type: "button", class: "primary small", onclick: () => answer("accept") }, "Aceitar"),
        h("button", { type: "button", class: "small", onclick: () => answer("decline") }, "Recusar")),
      error);
    return card;
  }));
  const tick = () => {
    for (const node of box.querySelectorAll("[data-until]")) {
      const seconds = Math.max(0, (Date.parse(node.dataset.until) - Date.now()) / 1000);
      node.textContent = `expira em ${duration(seconds)}`;
    }
  };
  tick();
  if (offers.length) ticker = setInterval(tick, 1000);
}
