// Tela de Atendimento: signing in with the agent's token, the agent's status, and the live
// updates (GET /api/agent/stream, SSE over fetch with the bearer token; polled when missing).
import { $, $$, h, toast } from "./dom.js";
import { ApiError, api, readSSE, tokens } from "./common.js";
import { statusLabel } from "./format.js";
import { forgetDrafts, keepDraft } from "./atendimento_composer.js";
import { refreshMessages, setConversations } from "./atendimento_list.js";
import { customerTyping } from "./atendimento_media.js";
import { renderQueue, renderQueueTimes, setQueue, taken } from "./atendimento_queue.js";
import { reason, remember, state } from "./atendimento_state.js";
import { addMessages } from "./atendimento_view.js";
import { showOffers } from "./ofertas.js";

const POLL_MS = 2000;
let stopper = null;

// --- login ----------------------------------------------------------------------------------

export async function start() {
  if (!tokens.agent()) return showLogin();
  try {
    state.me = await api("/api/agent/me", { token: "agent" });
  } catch (error) {
    tokens.clearAgent();
    return showLogin(error.status === 401 ? "Token inválido ou revogado." : reason(error));
  }
  $("#login").classList.add("hidden");
  $("#workspace").classList.remove("hidden");
  $("#agent-line").textContent = `${state.me.name} · serviços: ${state.me.services.join(", ") || "nenhum"} · capacidade ${state.me.capacity}`;
  $("#session").replaceChildren(h("span", {}, state.me.name), h("button", { type: "button", class: "small", onclick: leave }, "Sair"));
  setStatus(state.me.status);
  renderQueue();
  connect();
  setInterval(renderQueueTimes, 1000);
}

/** The agent's status as the server has it (the stream tells a change it made, e.g. away, or
 * offline with `reason: "unseen"` when the screen was gone too long: api/presence.py). */
function setStatus(status, reason) {
  if (state.me.status !== status) toast(`Status: ${statusLabel(status)}`);
  state.me.status = status;
  for (const radio of $$("[name=status]")) radio.checked = radio.value === status;
  showUnseen(status === "offline" && reason === "unseen");
}

/** Why the agent is offline when it did not choose it; gone once it chooses a status. */
function showUnseen(shown) {
  let note = $("#status-note");
  if (!note && !shown) return;
  if (!note) {
    note = h("div", { id: "status-note", class: "notice warn", role: "status" });
    $("#workspace .page-head").after(note);
  }
  note.textContent = shown ? "Você ficou offline por inatividade na tela. Escolha seu status para voltar a atender." : "";
  note.classList.toggle("hidden", !shown);
}

function showLogin(message = "") {
  $("#workspace").classList.add("hidden");
  $("#login").classList.remove("hidden");
  $("#login .form-error").textContent = message;
  $("#agent-token").focus();
}

/** "Sair": with conversations in service, only once the agent confirms, told what becomes of
 * them. Going offline requeues nothing (docs/omni.md "Presence"); only a service whose
 * `agent_silence_action` is `requeue` puts back in its queue, later, a conversation left
 * unanswered (docs/omni.md `care`), whatever the agent's status: the screen does not know the
 * services' rules, so it says so as an exception. */
function leave() {
  const open = inService().length;
  if (!open) return logout();
  const dialog = $("#leave-dialog");
  $("#leave-text").textContent = open === 1
    ? "Você tem 1 conversa em atendimento. Ao sair, você fica Offline e deixa de receber conversas novas. Esta conversa não volta para a fila: continua com você (a não ser que o serviço devolva à fila as conversas sem resposta) e o cliente segue esperando. Volte para finalizá-la ou peça a um supervisor que a reatribua."
    : `Você tem ${open} conversas em atendimento. Ao sair, você fica Offline e deixa de receber conversas novas. Estas ${open} conversas não voltam para a fila: continuam com você (a não ser que o serviço devolva à fila as conversas sem resposta) e os clientes seguem esperando. Volte para finalizá-las ou peça a um supervisor que as reatribua.`;
  dialog.returnValue = "";
  dialog.addEventListener("close", () => { if (dialog.returnValue === "leave") logout(); }, { once: true });
  dialog.showModal();
}

async function logout() {
  try { await api("/api/agent/status", { method: "POST", body: { status: "offline" }, token: "agent" }); } catch { /* leaving anyway */ }
  stopper?.abort();
  tokens.clearAgent();
  $("#reply-text").value = ""; // (the reload's pagehide keeps what the box holds)
  forgetDrafts(); // whoever uses this tab next does not find them
  remember(null); // nor the conversation that was on screen
  location.reload();
}

/** The conversations the agent has (not the closed ones still on screen). */
const inService = () => [...state.conversations.values()].filter((c) => !c.closed).map((c) => c.id);

/** The login form and the status switch. */
export function wireSession() {
  addEventListener("pagehide", keepDraft); // a quick reply put in the box, say, and a reload
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    tokens.setAgent(event.target.token.value.trim());
    start();
  });
  for (const radio of $$("[name=status]")) {
    radio.addEventListener("change", async () => {
      try {
        state.me = await api("/api/agent/status", { method: "POST", body: { status: radio.value }, token: "agent" });
        toast(`Status: ${statusLabel(state.me.status)}`);
        showUnseen(false);
      } catch (error) {
        toast(`Não foi possível mudar o status: ${reason(error)}`);
      }
    });
  }
}

// --- live updates ---------------------------------------------------------------------------

function connect() {
  stopper = new AbortController();
  readSSE("/api/agent/stream", {
    token: tokens.agent(),
    signal: stopper.signal,
    onOpen: () => {
      setLive(true);
      state.connection += 1; // lists of the connection before are not applied any more
      state.listed = new Set(); // (re)connected: the first `conversations` event re-reads them all
    },
    onEvent: ({ event, data }) => {
      const payload = JSON.parse(data);
      if (event === "queue") setQueue(payload);
      else if (event === "message") addMessages(payload.conversation_id, [payload.message]);
      else if (event === "conversations") setConversations(payload);
      else if (event === "offers") showOffers(payload, { onAccepted: taken });
      else if (event === "status") setStatus(payload.status, payload.reason);
      else if (event === "typing") customerTyping(payload, state.selected);
    },
    onError: (error) => {
      setLive(false);
      if (error instanceof ApiError && [404, 405].includes(error.status)) { poll(); return false; }
      if (error instanceof ApiError && error.status === 401) { tokens.clearAgent(); showLogin("Sessão expirada."); return false; }
      return true;
    },
  });
}

function setLive(live) {
  state.live = live;
  $("#live").textContent = live ? "ao vivo" : "reconectando…";
  $("#live").className = `badge ${live ? "available" : "paused"}`;
}

/** Without the agent stream: the queue and open conversations are polled. */
function poll() {
  $("#live").textContent = "atualizando a cada 2 s";
  state.restored = true; // no list to load: what the polling reads from now on is news
  const tick = async () => {
    try {
      setQueue(await api("/api/agent/queue", { token: "agent" }));
      await Promise.all(inService().map(refreshMessages));
    } catch { /* next tick */ }
    setTimeout(tick, POLL_MS); // after this one: a slow tick never overlaps the next
  };
  tick();
}
