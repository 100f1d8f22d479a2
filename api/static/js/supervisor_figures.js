// Supervisor, indicators: every service now (line, agents by status, offers), in a period
// (service level, speed of answer, abandonment, handle time, satisfaction, wrap-up codes and tags)
// and the agents its target needs now and in each half hour of the next 24 h
// (/api/supervisor/live|period|staffing). Days and hours are the operator's zone's (the server's
// TRANSBORDO_SUPERVISOR_TIMEZONE, which the page carries from the start and each answer names),
// not the browser's: the period's dates are that zone's days, and the page says so.
import { $, h } from "./dom.js";
import { api, codeText, tokens } from "./common.js";
import { duration } from "./format.js";

const LIVE_MS = 3000;
const SLOW_MS = 30000;
/** Agents by status, singular and plural ("em pausa" and "offline": one form for both). */
const STATES = { available: ["disponível", "disponíveis"], paused: ["em pausa"], away: ["ausente", "ausentes"], offline: ["offline"] };
/** "1 disponível", "2 disponíveis", "0 disponíveis": the singular for exactly one. */
const plural = (n, [one, many = one]) => `${typeof n === "number" ? n.toLocaleString("pt-BR") : n} ${n === 1 ? one : many}`;

const percent = (value) => (value === null || value === undefined ? "—" : `${value.toLocaleString("pt-BR")}%`);
/** Intl's option for the figures' zone (the browser's own, should it not know that name). */
function inZone(zone) {
  try {
    new Intl.DateTimeFormat("pt-BR", { timeZone: zone });
    return { timeZone: zone };
  } catch {
    return {};
  }
}
const hhmm = (iso, zone) => new Date(iso).toLocaleTimeString("pt-BR", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", ...inZone(zone) });
const ddmmyyyy = (date, zone) => date.toLocaleDateString("pt-BR", { day: "2-digit", month: "2-digit", year: "numeric", ...inZone(zone) });
/** The operator's zone, as the server rendered the page (supervisor.html). */
const ZONE = $("#supervisor-head").dataset.timezone;
const zoneLabel = (zone) => `Fuso horário: ${zone}`;

/** The period as the supervisor chose it: "De 20/11/2026 00:00 até o fim de 20/11/2026 (zone)".
 * The server's end is exclusive (the next day's midnight for a date "até"): written as the end
 * of the day chosen, not as the midnight after it; any other end as its own date and time. */
function periodText(period) {
  const zone = period.timezone;
  const at = (iso) => `${ddmmyyyy(new Date(iso), zone)} ${hhmm(iso, zone)}`;
  const end = new Date(period.end);
  const midnight = end.getUTCSeconds() === 0 && end.getUTCMilliseconds() === 0 && hhmm(period.end, zone) === "00:00";
  const until = midnight ? `o fim de ${ddmmyyyy(new Date(end.getTime() - 1), zone)}` : at(period.end);
  return `De ${at(period.start)} até ${until} (${zone})`;
}
const counts = (found) => Object.entries(found || {}).map(([value, n]) => `${value} ${n}`).join(" · ") || "—";
const empty = (cols, text) => h("tr", {}, h("td", { colspan: cols, class: "empty" }, text));

function table(id, heads, tbodyId) {
  return h("div", { class: "table-wrap spaced-below" },
    h("table", { id },
      h("thead", {}, h("tr", {}, heads.map(([text, num]) => h("th", { class: num ? "num" : null }, text)))),
      h("tbody", { id: tbodyId }, empty(heads.length, "Carregando…"))));
}

function build() {
  const form = h("form", { id: "period-form", class: "inline-form" },
    h("label", { for: "period-from" }, "De "), h("input", { id: "period-from", name: "from", type: "date", "aria-describedby": "period-zone" }),
    h("label", { for: "period-to" }, " até "), h("input", { id: "period-to", name: "to", type: "date", "aria-describedby": "period-zone" }),
    " ", h("button", { type: "submit", class: "small" }, "Ver período"),
    " ", h("span", { id: "period-zone", class: "muted" }, zoneLabel(ZONE)));
  form.addEventListener("submit", (event) => { event.preventDefault(); refreshSlow(); });
  return h("section", { id: "figures", "aria-labelledby": "figures-title", class: "spaced-below" },
    h("h2", { id: "figures-title" }, "Indicadores por serviço"),
    h("h3", {}, "Agora"),
    table("live-table", [["Serviço"], ["Na fila", 1], ["Maior espera", 1], ["Em atendimento", 1],
      ["Atendentes"], ["Ofertas pendentes", 1]], "live-rows"),
    h("h3", {}, "Período"), form, h("p", { class: "field-error", id: "period-error", role: "alert" }),
    h("p", { class: "muted", id: "period-range" }),
    table("period-table", [["Serviço"], ["Recebidos", 1], ["Atendimento (%) / meta", 1],
      ["Tempo médio de espera", 1], ["Abandono (%)", 1], ["Tempo médio de atendimento", 1], ["Satisfação (CSAT)", 1],
      ["Tabulações"], ["Etiquetas"]],
    "period-rows"),
    h("h3", {}, "Dimensionamento"),
    h("p", { class: "muted" }, "Atendentes necessários para a meta de cada serviço (Erlang C; Erlang A quando há abandono), ",
      "pela demanda da última meia hora e, adiante, pela média da mesma meia hora nos últimos dias."),
    table("staffing-table", [["Serviço"], ["Online", 1], ["Necessários agora", 1], ["Esta meia hora (previsão)", 1],
      ["Pico nas próximas 24 h", 1], ["Meias horas"]], "staffing-rows"));
}

function liveRow(s) {
  const states = Object.entries(s.agents).filter(([, n]) => n > 0)
    .map(([state, n]) => plural(n, STATES[state] || [state])).join(", ");
  return h("tr", { dataset: { service: s.service } },
    h("th", { scope: "row" }, s.service),
    h("td", { class: "num" }, s.waiting),
    h("td", { class: "num" }, duration(s.oldest_wait_seconds)),
    h("td", { class: "num" }, s.in_service),
    h("td", {}, states || "nenhum"),
    h("td", { class: "num" }, s.offers_pending));
}

function periodRow(s) {
  const below = s.service_level_percent !== null && s.service_level_percent < s.target_service_level_percent;
  return h("tr", { dataset: { service: s.service } },
    h("th", { scope: "row" }, s.service),
    h("td", { class: "num" }, s.offered),
    h("td", { class: `num${below ? " below" : ""}` },
      `${percent(s.service_level_percent)} / ${s.target_service_level_percent}% em ${s.answer_time_seconds} s`),
    h("td", { class: "num" }, duration(s.average_speed_of_answer_seconds)),
    h("td", { class: "num" }, percent(s.abandonment_percent)),
    h("td", { class: "num" }, duration(s.average_handle_seconds)),
    h("td", { class: "num" }, s.csat_average === null ? "—" : s.csat_average.toLocaleString("pt-BR")),
    h("td", { class: "wrapups" }, counts(s.wrapup_codes)),
    h("td", { class: "tags" }, counts(s.tags)));
}

const needed = (slot) => (slot.unreachable_above != null ? `acima de ${slot.unreachable_above}`
  : slot.agents_needed === null ? "sem histórico" : String(slot.agents_needed));

function staffingRow(s, zone) {
  const peak = s.half_hours.reduce((top, slot) => ((slot.agents_needed ?? -1) > (top.agents_needed ?? -1) ? slot : top),
    s.half_hours[0]);
  const short = s.now.agents_needed !== null && s.now.agents_needed > s.online;
  return h("tr", { dataset: { service: s.service } },
    h("th", { scope: "row" }, s.service),
    h("td", { class: "num" }, `${s.online} (${plural(s.available, STATES.available)})`),
    h("td", { class: `num now${short ? " below" : ""}` }, needed(s.now)),
    h("td", { class: "num" }, needed(s.half_hours[0])),
    h("td", { class: "num" }, peak && peak.agents_needed !== 0 ? `${needed(peak)} às ${hhmm(peak.start, zone)}` : "—"),
    h("td", {}, h("details", {}, h("summary", {}, "ver"),
      h("ul", { class: "slots" }, s.half_hours.map((slot) => h("li", {},
        `${hhmm(slot.start, zone)}: ${needed(slot)} (${plural(slot.arrivals, ["contato previsto", "contatos previstos"])})`))))));
}

async function refreshLive() {
  const live = await api("/api/supervisor/live");
  $("#live-rows").replaceChildren(...(live.length ? live.map(liveRow) : [empty(6, "Nenhum serviço cadastrado.")]));
}

/** Today in the operator's zone, as the date fields write it ("2026-11-20"). */
const today = () => new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", ...inZone(ZONE) }).format(new Date());

/** Why the chosen days make no period (the server's rule: a blank date is today), or null. */
function periodProblem(form) {
  const from = form.from.value || today();
  const to = form.to.value || today();
  if (from <= to) return null;
  const blank = !form.from.value || !form.to.value ? " (Data em branco vale hoje.)" : "";
  return { text: `A data final não pode ser anterior à inicial.${blank}`, field: form.to.value ? form.to : form.from };
}

/** Say what is wrong with the period next to its fields (or nothing), and leave no figures of
 * an earlier period on screen as if they were this one's. */
function periodRefused(form, problem) {
  const slot = $("#period-error");
  slot.textContent = problem ? problem.text : "";
  for (const input of [form.from, form.to]) {
    const invalid = problem?.field === input;
    if (invalid) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", invalid ? "period-zone period-error" : "period-zone");
  }
  if (!problem) return;
  $("#period-range").textContent = "";
  $("#period-rows").replaceChildren(empty(9, problem.field ? "Sem indicadores: escolha um período válido."
    : "Sem indicadores: o período não pôde ser carregado."));
}

async function refreshPeriod() {
  const form = $("#period-form");
  const problem = periodProblem(form);
  periodRefused(form, problem);
  if (problem) return;
  const params = new URLSearchParams();
  if (form.from.value) params.set("from", form.from.value);
  if (form.to.value) params.set("to", form.to.value);
  try {
    const period = await api(`/api/supervisor/period?${params}`);
    $("#period-zone").textContent = zoneLabel(period.timezone);
    $("#period-range").textContent = periodText(period);
    $("#period-rows").replaceChildren(...(period.services.length ? period.services.map(periodRow)
      : [empty(9, "Nenhum serviço cadastrado.")]));
  } catch (error) {
    periodRefused(form, { text: codeText(error), field: null });
  }
}

async function refreshSlow() {
  await refreshPeriod();
  const staffing = await api("/api/supervisor/staffing");
  $("#staffing-rows").replaceChildren(...(staffing.services.length ? staffing.services.map((s) => staffingRow(s, staffing.timezone))
    : [empty(6, "Nenhum serviço cadastrado.")]));
}

async function start() {
  if (!tokens.admin()) {  // supervisor.js asks for the token; wait for it
    await new Promise((resolve) => window.addEventListener("transbordo:admin", resolve, { once: true }));
  }
  await Promise.all([refreshLive(), refreshSlow()]);
  setInterval(() => refreshLive().catch(() => {}), LIVE_MS);
  setInterval(() => refreshSlow().catch(() => {}), SLOW_MS);
}

$("#supervisor-figures").replaceChildren(build());
await start();
