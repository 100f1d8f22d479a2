// Supervisor, a live conversation: watch its transcript (notes and whispers included), whisper
// to the agent, speak to the customer, take it over or pass it to another agent or service, and
// see the audit of these actions (/api/supervisor/conversations/{id}/…, /api/supervisor/actions).
// "Conversas em andamento" lists the open ones (/api/supervisor/conversations/open) to pick from.
// With a supervisor's own token the server signs with the account's name and a take-over is by
// that account: the name field and the agent of "Assumir" are only for the admin token.
import { $, $$, h, toast } from "./dom.js";
import { api, codeText, tokens } from "./common.js";
import { conversationStatusLabel } from "./format.js";
import { supervisorName, supervisorNotice } from "./atendimento_supervisor.js";

const POLL_MS = 2000;
const OPEN_MS = 3000; // supervisor.js's refresh cycle

const KIND_PT = { note: "Nota interna", whisper: "Sussurro ao atendente", supervisor_notice: "Aviso" };
const FROM_PT = { customer: "Cliente", bot: "Bot", agent: "Atendente", system: "Sistema", supervisor: "Supervisor" };
const ACTION_PT = { whisper: "Sussurro", barge_in: "Entrou na conversa", take_over: "Assumiu", reassign: "Reatribuiu" };
let watching = null;
let timer = null;
let pollFailed = false; // the error line says a refresh failed: the next good one clears it

/** Say a problem on the error line ("" clears it); `polled`: a refresh's, not the user's. */
function tell(text, polled = false) {
  $("#live-error").textContent = text;
  pollFailed = polled && Boolean(text);
}

/** Times in the operator's zone, the one the page names ("Fuso horário: …", as the server
 * rendered it) and the figures' half hours use; the browser's own should it not know that name. */
const IN_ZONE = (() => {
  const timeZone = $("#supervisor-head").dataset.timezone;
  try {
    new Intl.DateTimeFormat("pt-BR", { timeZone });
    return { timeZone };
  } catch {
    return {};
  }
})();
const when = (iso) => new Date(iso).toLocaleString("pt-BR", IN_ZONE);

/** How a screen reader says the server's shortened contact ("…4321": "cliente final 4321",
 * not "reticências"); an id short enough to be whole is said as it is. */
const contactSaid = (contact) => (contact.startsWith("…") ? `cliente final ${contact.slice(1)}` : `cliente ${contact}`);

function field(id, label, input) {
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

function build() {
  const watch = h("form", { id: "live-watch", class: "inline-form" },
    h("label", { for: "live-id" }, "Conversa "), h("input", { id: "live-id", required: true, autocomplete: "off" }),
    " ", h("button", { type: "submit", class: "small" }, "Acompanhar"));
  watch.addEventListener("submit", (event) => { event.preventDefault(); start($("#live-id").value.trim()); });
  const say = h("form", { id: "live-say" },
    field("live-name", "Seu nome", h("input", { id: "live-name", value: "Supervisor", maxlength: 100 })),
    field("live-text", "Mensagem do supervisor", h("textarea", { id: "live-text", rows: 2, maxlength: 4000 })),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => speak("whisper") }, "Sussurrar ao atendente"),
      " ", h("button", { type: "button", onclick: () => speak("barge-in") }, "Falar com o cliente")));
  const move = h("form", { id: "live-move" },
    field("live-agent", "Atendente", h("select", { id: "live-agent" })),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "live-take-over", onclick: () => moveTo("take-over") }, "Assumir como este atendente"),
      " ", h("button", { type: "button", onclick: () => moveTo("reassign") }, "Passar a este atendente")),
    field("live-service", "Serviço", h("select", { id: "live-service" })),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => moveTo("service") }, "Transferir para este serviço")));
  return h("section", { id: "live", "aria-labelledby": "live-title", class: "spaced-below" },
    h("h2", { id: "live-title" }, "Conversa ao vivo"),
    h("p", { class: "muted" }, "Acompanhe uma conversa (notas e sussurros incluídos), sussurre ao atendente ",
      "(o cliente não vê), fale com o cliente, assuma ou reatribua o atendimento. Toda ação fica registrada."),
    h("h3", { id: "open-title" }, "Conversas em andamento"),
    h("div", { class: "table-wrap spaced-below" }, h("table", { "aria-labelledby": "open-title" },
      h("thead", {}, h("tr", {}, h("th", {}, "Cliente"), h("th", {}, "Serviço"), h("th", {}, "Situação"),
        h("th", {}, "Atendente"), h("th", {}, "Desde"), h("th", {}, h("span", { class: "sr-only" }, "Ação")))),
      h("tbody", { id: "open-rows" }, h("tr", {}, h("td", { colspan: 6, class: "empty" }, "Carregando…"))))),
    watch, h("p", { id: "live-error", class: "error", role: "alert" }),
    h("div", { id: "live-transcript", class: "transcript", role: "log", tabindex: 0, "aria-label": "Transcrição ao vivo" }),
    say, move,
    h("h3", {}, "Ações registradas"),
    h("ul", { id: "live-actions", class: "plain" }));
}

async function options() {
  try {
    const [me, agents, services] = await Promise.all([
      api("/api/supervisor/me"), api("/api/supervisor/agents"), api("/api/supervisor/live")]);
    $("#live-agent").replaceChildren(...agents.map((a) => h("option", { value: a.id }, a.name)));
    $("#live-service").replaceChildren(...services.map((s) => h("option", { value: s.service }, s.service)));
    if (!me.admin) {
      $("#live-name").closest(".field").hidden = true;
      $("#live-take-over").textContent = "Assumir o atendimento (sua conta)";
    }
  } catch (error) {
    tell(codeText(error));
  }
}

function openRow(c) {
  const since = c.picked_up_at || c.enqueued_at;
  const at = new Date(since).toLocaleTimeString("pt-BR", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", ...IN_ZONE });
  const agent = c.agent ? `${c.agent}${c.agent_offline ? " (saiu da tela)" : ""}` : "—";
  // the contact's id shortened by the server ("…4321"): the store keeps no name
  return h("tr", { dataset: { conversation: c.conversation_id } },
    h("td", {}, c.contact || "—"),
    h("td", {}, c.service || "—"),
    h("td", {}, conversationStatusLabel(c.status)),
    h("td", {}, agent),
    h("td", { title: when(since) }, at),
    h("td", {}, h("button", { type: "button", class: "small", onclick: () => { $("#live-id").value = c.conversation_id; start(c.conversation_id); $("#live-transcript").focus(); },
      "aria-label": `Acompanhar: ${c.contact ? `${contactSaid(c.contact)}, ` : ""}${c.service || "sem serviço"}, ${conversationStatusLabel(c.status)}${c.agent ? `, com ${agent}` : ""}, desde ${at}` }, "Acompanhar")));
}

async function refreshOpen() {
  if ($("#open-rows").contains(document.activeElement)) return; // a rebuild would drop the focus
  const open = await api("/api/supervisor/conversations/open?limit=50");
  $("#open-rows").replaceChildren(...(open.length ? open.map(openRow)
    : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, "Nenhuma conversa em andamento."))]));
}

function entry(m) {
  const who = KIND_PT[m.kind] || FROM_PT[m.from] || m.from;
  // the bare title as a name ("Supervisor", the default) is not said again: not "Supervisor (Supervisor)"
  const name = m.data?.supervisor !== undefined ? supervisorName(m.data.supervisor) : m.data?.agent;
  const text = m.kind === "supervisor_notice" ? supervisorNotice(m) : m.text || "";
  return h("div", { class: `msg ${m.kind === "text" ? m.from : m.kind}`, dataset: { seq: m.seq } },
    h("span", { class: "who" }, name ? `${who} (${name}): ` : `${who}: `), text);
}

async function refresh() {
  const id = watching;
  if (!id) return;
  try {
    const [log, actions] = await Promise.all([
      api(`/api/supervisor/conversations/${encodeURIComponent(id)}/messages`),
      api(`/api/supervisor/actions?conversation_id=${encodeURIComponent(id)}`),
    ]);
    if (id !== watching) return; // another conversation is watched now: not its transcript
    $("#live-transcript").replaceChildren(...log.map(entry));
    $("#live-actions").replaceChildren(...actions.map((a) => h("li", {},
      `${when(a.created_at)} — ${a.supervisor}: ${ACTION_PT[a.action] || a.action}`
      + (a.target ? ` → ${a.target}` : ""))));
    if (pollFailed) tell("");
  } catch (error) {
    if (id === watching) tell(codeText(error), true);
  }
}

function start(id) {
  watching = id;
  tell("");
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

/** True once the server did it; else the error line says why. */
async function act(path, body, done) {
  if (!watching) {
    tell("Escolha uma conversa (Acompanhar) primeiro.");
    return false;
  }
  tell("");
  try {
    await api(`/api/supervisor/conversations/${encodeURIComponent(watching)}/${path}`, { method: "POST", body });
  } catch (error) {
    tell(codeText(error));
    return false;
  }
  toast(done);
  await refresh();
  return true;
}

async function speak(path) {
  const text = $("#live-text").value.trim();
  if (!watching) return tell("Escolha uma conversa (Acompanhar) primeiro.");
  if (!text) {
    tell("Escreva a mensagem primeiro.");
    $("#live-text").focus();
    return;
  }
  // each request is another action on the server: no second one while this one is on its way
  const buttons = $$("#live-say button");
  for (const b of buttons) b.disabled = true;
  const said = await act(path, { text, supervisor: $("#live-name").value.trim() || "Supervisor" },
    path === "whisper" ? "Sussurro enviado ao atendente" : "Mensagem enviada ao cliente");
  for (const b of buttons) b.disabled = false;
  if (said && $("#live-text").value.trim() === text) $("#live-text").value = ""; // failed: kept to retry
}

async function moveTo(how) {
  const supervisor = $("#live-name").value.trim() || "Supervisor";
  if (how === "service") {
    await act("reassign", { service: $("#live-service").value, supervisor }, "Conversa transferida");
  } else {
    await act(how, { agent: $("#live-agent").value, supervisor }, how === "take-over" ? "Atendimento assumido" : "Conversa reatribuída");
  }
}

$("#supervisor-live").replaceChildren(build());
// The lists wait for the admin token (supervisor.js asks for it): no 401 that asks again.
const waitToken = setInterval(() => {
  if (!tokens.admin()) return;
  clearInterval(waitToken);
  options();
  const again = () => refreshOpen().catch(() => {}); // supervisor.js tells a failed refresh
  again();
  setInterval(again, OPEN_MS);
}, 300);
