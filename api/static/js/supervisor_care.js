// Supervisor: alerts (customers left unanswered by an agent) and satisfaction answers (CSAT).
import { $, h } from "./dom.js";
import { api, tokens } from "./common.js";
import { dateTime } from "./format.js";

const REFRESH_MS = 5000;

async function refresh() {
  const [alerts, csat] = await Promise.all([api("/api/supervisor/alerts"), api("/api/supervisor/csat")]);
  $("#alert-rows").replaceChildren(...(alerts.length ? alerts.map(alertRow)
    : [h("tr", {}, h("td", { colspan: 5, class: "empty" }, "Nenhum alerta."))]));
  $("#csat-rows").replaceChildren(...(csat.answers.length ? csat.answers.map(csatRow)
    : [h("tr", {}, h("td", { colspan: 5, class: "empty" }, "Nenhuma avaliação ainda."))]));
  const averages = Object.entries(csat.average_by_service)
    .map(([service, average]) => `${service}: ${average.toLocaleString("pt-BR")}`);
  $("#csat-averages").textContent = averages.length ? `Média por serviço — ${averages.join(" · ")}` : "";
}

function alertRow(a) {
  const what = a.kind === "agent_silence" ? `Atendente sem responder: ${a.detail}` : a.detail;
  return h("tr", { dataset: { alert: a.kind } },
    h("td", {}, dateTime(a.created_at)),
    h("td", {}, a.service),
    h("td", {}, a.agent || "—"),
    h("td", {}, h("code", {}, a.conversation_id)),
    h("td", {}, what));
}

function csatRow(c) {
  return h("tr", {},
    h("td", {}, dateTime(c.answered_at)),
    h("td", {}, c.service),
    h("td", {}, c.agent || "—"),
    h("td", { class: "num" }, `${c.score} / 5`),
    h("td", {}, c.comment || "—"));
}

// supervisor.js asks for the admin token; this section waits for it (one dialog per page).
if (!tokens.admin()) await new Promise((resolve) => window.addEventListener("transbordo:admin", resolve, { once: true }));
await refresh();
setInterval(() => refresh().catch(() => {}), REFRESH_MS);
