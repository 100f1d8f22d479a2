// Web chat: a customer talking to a bot. Messages go out with POST /api/bots/{bot}/messages;
// everything in the conversation (bot, agent, notices, carousel cards) comes back from the
// public SSE stream, which EventSource resumes by itself with Last-Event-ID.
import { $, $$, h } from "./common.js";

const bot = window.TRANSBORDO_BOT;
const keys = {
  contact: `transbordo.chat.${bot}.contact`,
  conversation: `transbordo.chat.${bot}.conversation`,
  name: "transbordo.chat.name",
};
const log = $("#log");
const shown = new Map(); // seq → element
let source = null;
let conversationId = localStorage.getItem(keys.conversation);

function contactId() {
  let id = localStorage.getItem(keys.contact);
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem(keys.contact, id);
  }
  return id;
}

function status(text) { $("#status-line").textContent = text; }

// --- sending --------------------------------------------------------------------------------

async function send(text) {
  text = text.trim();
  if (!text) return;
  const pending = h("div", { class: "msg customer pending", dataset: { text } }, text);
  log.append(pending);
  scroll();
  const name = $("#contact-name").value.trim();
  const body = { contact_id: contactId(), message_id: crypto.randomUUID(), text };
  if (name) body.contact = { name };
  status("enviando…");
  try {
    const response = await fetch(`/api/bots/${encodeURIComponent(bot)}/messages`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      pending.remove();
      status(answer.code === "unknown_bot" ? "Este bot não está publicado."
        : answer.code === "invalid_message" ? "Mensagem inválida (vazia ou longa demais)."
          : `Não foi possível enviar (${response.status}).`);
      return;
    }
    status(response.status === 202 ? "Mensagem recebida; a resposta chega em instantes." : "");
    if (answer.conversation_id && answer.conversation_id !== conversationId) follow(answer.conversation_id);
    for (const reply of answer.replies || []) show(reply);
  } catch {
    pending.remove();
    status("Sem conexão. Tente de novo.");
  }
}

// --- receiving ------------------------------------------------------------------------------

/** Listen to a conversation's stream from the start (a new conversation) or after what we have. */
function follow(id) {
  if (source) source.close();
  if (id !== conversationId) { // a new conversation numbers its messages from 1 again
    shown.clear();
    conversationId = id;
    localStorage.setItem(keys.conversation, id);
  }
  // from the first message: a restored page shows the whole transcript (duplicates are skipped);
  // reconnections resume by themselves with Last-Event-ID
  source = new EventSource(`/api/conversations/${id}/stream`);
  source.addEventListener("message", (event) => show(JSON.parse(event.data)));
  source.addEventListener("end", () => {
    source.close();
    source = null;
    status("Conversa encerrada. Envie uma mensagem para começar outra.");
    conversationId = null;
    localStorage.removeItem(keys.conversation);
  });
  source.addEventListener("open", () => status(""));
}

function show(message) {
  if (shown.has(message.seq)) return;
  if (message.from === "customer") {
    const pending = $$(".msg.pending", log).find((p) => p.dataset.text === (message.text || "").trim());
    pending?.remove();
  }
  const node = render(message);
  node.dataset.seq = message.seq;
  shown.set(message.seq, node);
  const later = [...shown.entries()].filter(([seq]) => seq > message.seq).sort((a, b) => a[0] - b[0])[0];
  if (later) log.insertBefore(node, later[1]);
  else log.insertBefore(node, $(".msg.pending", log)); // null → append
  refreshMenus();
  scroll();
}

function render(m) {
  if (m.kind === "card") return carousel(m.data?.cards || []);
  if (m.kind === "wait_time_notice") return h("div", { class: "wait", role: "status" }, m.text);
  if (m.from === "system" || m.kind === "notice") return h("div", { class: "msg system" }, m.text);
  const bubble = h("div", { class: `msg ${m.from}` });
  if (m.from === "agent" && m.data?.agent) bubble.append(h("span", { class: "who" }, m.data.agent));
  bubble.append(m.text || "");
  if (m.kind === "menu" && m.options?.length) {
    bubble.classList.add("menu");
    bubble.append(h("div", { class: "options", role: "group", "aria-label": "Opções" },
      m.options.map((option) => h("button", { type: "button", onclick: () => send(option) }, option))));
  }
  return bubble;
}

/** Only the newest menu keeps its buttons active. */
function refreshMenus() {
  const menus = $$(".msg.menu", log);
  menus.forEach((menu, i) => { for (const b of $$("button", menu)) b.disabled = i !== menus.length - 1; });
}

function carousel(cards) {
  return h("div", { class: "carousel", role: "group", "aria-label": "Enquanto você espera" },
    cards.map((card) => h("article", {},
      card.image_url ? h("img", { src: card.image_url, alt: "" }) : null,
      h("div", { class: "content" }, h("h3", {}, card.title), h("p", {}, card.text)),
      card.buttons?.length ? h("div", { class: "buttons" }, card.buttons.map((b) => (b.url
        ? h("a", { class: "button", href: b.url, target: "_blank", rel: "noopener noreferrer" }, b.label)
        : h("button", { type: "button", onclick: () => send(b.payload) }, b.label)))) : null)));
}

function scroll() { log.scrollTop = log.scrollHeight; }

// --- start ----------------------------------------------------------------------------------

async function restore() {
  $("#contact-name").value = localStorage.getItem(keys.name) || "";
  if (!conversationId) {
    status("Envie uma mensagem para começar.");
    return;
  }
  const info = await fetch(`/api/conversations/${conversationId}`);
  if (!info.ok || (await info.json()).status === "ended") {
    localStorage.removeItem(keys.conversation);
    conversationId = null;
    status("Envie uma mensagem para começar.");
    return;
  }
  follow(conversationId);
}

$("#composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = event.target.text;
  send(input.value);
  input.value = "";
  input.focus();
});
$("#contact-name").addEventListener("change", (event) => localStorage.setItem(keys.name, event.target.value.trim()));
$("#new-chat").addEventListener("click", async () => {
  if (conversationId) await fetch(`/api/conversations/${conversationId}/leave`, { method: "POST" });
  source?.close();
  source = null;
  localStorage.removeItem(keys.conversation);
  localStorage.removeItem(keys.contact);
  conversationId = null;
  shown.clear();
  log.replaceChildren();
  status("Nova conversa: envie uma mensagem para começar.");
});
restore();
$("#text").focus();
