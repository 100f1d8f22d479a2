// Supervisor: per service, the queue and its service level; per agent, status and load. The admin
// token sees every service; a supervisor's own token, the services of its account.
import { $, h } from "./dom.js";
import { adminLogin, adminSession, api } from "./common.js";
import { duration, statusLabel } from "./format.js";

const REFRESH_MS = 3000;

async function refresh() {
  const [metrics, agents] = await Promise.all([api("/api/supervisor/services"), api("/api/supervisor/agents")]);
  $("#service-rows").replaceChildren(...(metrics.length ? metrics.map((m) => serviceRow(m, agents))
    : [h("tr", {}, h("td", { colspan: 9, class: "empty" }, "Nenhum serviço cadastrado."))]));
  $("#agent-rows").replaceChildren(...(agents.length ? agents.map(agentRow)
    : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "Nenhum atendente cadastrado."))]));
  $("#updated").textContent = `Atualizado às ${new Date().toLocaleTimeString("pt-BR")} (a cada ${REFRESH_MS / 1000} s)`;
}

function serviceRow(m, agents) {
  const target = m.target_service_level_percent;
  const level = m.service_level_percent;
  const below = level !== null && level !== undefined && level < target;
  const staffed = agents.filter((a) => a.services.includes(m.service));
  const available = staffed.filter((a) => a.status === "available").length;
  return h("tr", { dataset: { service: m.service } },
    h("th", { scope: "row" }, m.service),
    h("td", { class: "num waiting" }, m.waiting),
    h("td", { class: "num" }, m.in_service),
    h("td", { class: "num" }, `${m.answered} (${m.answered_within_target} no prazo)`),
    h("td", { class: "num" }, h("div", { class: `sl${below ? " below" : ""}` },
      h("span", { class: "bar", "aria-hidden": "true" }, h("span", { style: `width:${Math.min(100, level ?? 0)}%` })),
      h("span", {}, level === null || level === undefined ? "—" : `${Math.round(level)}%`, ` / ${target}%`))),
    h("td", { class: "num" }, m.abandoned),
    h("td", { class: "num" }, duration(m.average_wait_seconds)),
    h("td", { class: "num", title: m.estimated_wait_seconds === null ? "Sem espera prometida: ninguém do serviço online, ou caixa postal oferecida" : null },
      duration(m.estimated_wait_seconds)),
    h("td", { class: "num" }, `${available} de ${staffed.length}`));
}

function agentRow(a) {
  return h("tr", {},
    h("th", { scope: "row" }, a.name),
    h("td", {}, h("span", { class: `badge ${a.status}` }, statusLabel(a.status))),
    h("td", {}, a.services.join(", ") || "—"),
    h("td", { class: "num" }, `${a.in_service} / ${a.capacity}`));
}

async function whoAmI() {
  const me = await api("/api/supervisor/me");
  $("#who").textContent = me.admin ? "Administrador: todos os serviços."
    : `Supervisor ${me.name}: ${me.services.join(", ") || "nenhum serviço"}.`;
}

adminSession();
await adminLogin({ supervisor: true });
await whoAmI();
await refresh();
setInterval(() => refresh().catch(() => { $("#updated").textContent = "Falha ao atualizar; tentando de novo…"; }), REFRESH_MS);
