// Tela de Atendimento: the queues of the agent's services (counts, previews, waiting times that
// tick every second), "Atender" on one conversation, "Atender próximo", and a conversation taken.
import { $, $$, h, toast } from "./dom.js";
import { api } from "./common.js";
import { duration } from "./format.js";
import { ensure, reason, state } from "./atendimento_state.js";
import { describe } from "./atendimento_list.js";
import { queueChanged } from "./atendimento_unread.js";
import { addMessages, select } from "./atendimento_view.js";

export function setQueue(items) {
  const now = Date.now();
  const before = new Set(state.queue.map((q) => q.conversation_id));
  state.queue = items.map((item) => ({ ...item, since: now - item.waiting_seconds * 1000 }));
  queueChanged(before, items.map((q) => q.conversation_id)); // the title, while the tab is hidden
  renderQueue();
}

export function renderQueue() {
  const services = [...new Set([...(state.me?.services || []), ...state.queue.map((q) => q.service)])];
  $("#next").disabled = state.asking || !state.queue.length;
  $("#next-why").textContent = state.queue.length ? "" : "Atender próximo fica desabilitado enquanto ninguém aguarda nas suas filas.";
  $("#queues").replaceChildren(...services.map((service) => {
    const items = state.queue.filter((q) => q.service === service);
    const oldest = items.length ? Math.max(...items.map((q) => q.waiting_seconds)) : null;
    return h("div", { class: "queue-group", dataset: { service } },
      h("h3", {}, h("span", {}, service), h("span", { class: "badge", "aria-label": `${items.length} aguardando` }, `${items.length} aguardando`)),
      items.length
        ? h("p", { class: "muted", style: "margin:.1rem 0 .4rem;font-size:.85rem" }, "Maior espera: ", h("span", { class: "oldest", dataset: { since: String(Date.now() - oldest * 1000) } }, duration(oldest)))
        : h("p", { class: "muted", style: "font-size:.85rem" }, "Ninguém aguardando."),
      items.map((q) => h("div", { class: "queue-item", dataset: { conversation: q.conversation_id } },
        h("div", {},
          h("div", { class: "preview", title: previewTitle(q) }, previewText(q)),
          h("div", { class: "muted wait", dataset: { since: String(q.since) } }, duration(q.waiting_seconds))),
        h("button", { type: "button", class: "small", onclick: () => pickup(q.conversation_id), "aria-label": `Atender conversa de ${service}: ${previewText(q)}` }, "Atender"))));
  }));
}

/** What the customer wants, in short: the menu option it chose by its number (`choice`), or
 * its last text (`preview`). A queue item's, or an offer's (ofertas.js). */
export function previewText(q) {
  if (q.choice) return `Menu: ${q.choice}`;
  return q.preview ? `“${q.preview}”` : "(sem mensagem)";
}

export function previewTitle(q) {
  return q.choice ? `O cliente escolheu a opção ${q.preview.match(/[0-9]+/)[0]} do menu: ${q.choice}` : q.preview || "";
}

export function renderQueueTimes() {
  for (const node of $$("#queues [data-since]")) node.textContent = duration((Date.now() - Number(node.dataset.since)) / 1000);
}

async function pickup(id) {
  $("#queue-error").textContent = "";
  try {
    taken(await api(`/api/agent/conversations/${id}/pickup`, { method: "POST", token: "agent" }));
  } catch (error) {
    $("#queue-error").textContent = reason(error);
  }
  if (!state.live) setQueue(await api("/api/agent/queue", { token: "agent" }));
}

/** "Atender próximo". */
export function wireQueue() {
  $("#next").addEventListener("click", async () => {
    $("#queue-error").textContent = "";
    state.asking = true; // one at a time: a double click must not take two conversations
    renderQueue();
    try {
      taken(await api("/api/agent/next", { method: "POST", token: "agent" }));
    } catch (error) {
      $("#queue-error").textContent = reason(error);
    } finally {
      state.asking = false;
      renderQueue();
    }
  });
}

/** A conversation taken (a pickup's, "Atender próximo"'s or an accepted offer's answer): it
 * leaves the queue and opens. */
export function taken(pickupAnswer) {
  const { conversation_id: id, transcript, variables, service, waited_seconds: waited } = pickupAnswer;
  const conversation = ensure(id);
  const reopened = !!conversation.closed; // left this screen before, taken again from the queue
  Object.assign(conversation, { service, variables, waited, closed: null });
  if (reopened && state.selected === id) state.selected = null; // select() opens it again
  addMessages(id, transcript);
  state.queue = state.queue.filter((q) => q.conversation_id !== id);
  renderQueue();
  select(id);
  describe(id); // who the customer is, for its tab
  toast(`Conversa de ${service} em atendimento.`);
}
