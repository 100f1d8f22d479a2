// Omni → Administrativo → Atendentes: who works the Tela de Atendimento, with their token.
import { $, $$, copyText, h, toast } from "./dom.js";
import { adminLogin, adminSession, api, codeText, ifMatch } from "./common.js";
import { statusLabel } from "./format.js";
import { clearErrors, submitForm } from "./form_errors.js";

const dialog = $("#agent-dialog");
const form = $("#agent-form");
let services = [];
let editing = null;

async function load() {
  const [agents, all] = await Promise.all([api("/api/omni/agents"), api("/api/omni/services")]);
  services = all;
  const body = $("#agents");
  if (!agents.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "Nenhum atendente cadastrado.")));
    return;
  }
  body.replaceChildren(...agents.map((a) => h("tr", {},
    h("td", {}, h("strong", {}, a.name), a.supervisor ? [" ", h("span", { class: "badge" }, "Supervisor")] : null),
    h("td", {}, a.services.join(", ") || "—"),
    h("td", { class: "num" }, a.capacity),
    h("td", {}, h("span", { class: `badge ${a.status}` }, statusLabel(a.status))),
    h("td", {},
      h("button", { type: "button", class: "small", onclick: () => open(a), "aria-label": `Editar ${a.name}` }, "Editar"), " ",
      h("button", { type: "button", class: "small", onclick: () => newToken(a), "aria-label": `Novo token de ${a.name}` }, "Novo token"), " ",
      h("button", { type: "button", class: "small danger", onclick: () => remove(a), "aria-label": `Excluir ${a.name}` }, "Excluir")))));
}

function open(agent = null) {
  editing = agent;
  form.reset();
  clearErrors(form);
  $("#agent-title").textContent = agent ? `Editar atendente — ${agent.name}` : "Novo atendente";
  form.name.value = agent?.name || "";
  form.capacity.value = agent?.capacity || 1;
  form.skills.value = (agent?.skills || []).join(", ");
  form.supervisor.checked = Boolean(agent?.supervisor);
  $("#agent-services").replaceChildren(...(services.length ? services.map((s, i) => h("label", { class: "switch", for: `as-${i}` },
    h("input", { type: "checkbox", id: `as-${i}`, name: "service", value: s.name, checked: agent?.services.includes(s.name) }), s.name))
    : [h("p", { class: "muted" }, "Cadastre um serviço primeiro.")]));
  dialog.showModal();
  form.name.focus();
}

function showToken(agent) {
  $("#token-agent").textContent = agent.name;
  $("#token-value").value = agent.token;
  $("#token-notice").classList.remove("hidden");
  $("#token-value").focus();
}

async function save(event) {
  event.preventDefault();
  const body = {
    name: form.name.value.trim(),
    services: $$("[name=service]:checked", form).map((i) => i.value),
    capacity: Number(form.capacity.value),
    skills: form.skills.value.split(",").map((s) => s.trim()).filter(Boolean),
    supervisor: form.supervisor.checked,
  };
  const saved = await submitForm(form, () => (editing
    ? api(`/api/omni/agents/${editing.id}`, { method: "PATCH", body, headers: ifMatch(editing.revision) })
    : api("/api/omni/agents", { method: "POST", body })), { ctx: { name: body.name ?? editing?.name } });
  if (!saved) return;
  dialog.close();
  if (saved.token) showToken(saved);
  toast(`Atendente “${saved.name}” salvo.`);
  await load();
}

async function newToken(agent) {
  if (!confirm(`Gerar um novo token para ${agent.name}? O token atual deixa de funcionar.`)) return;
  showToken(await api(`/api/omni/agents/${agent.id}/token`, { method: "POST" }));
}

async function remove(agent) {
  if (!confirm(`Excluir o atendente ${agent.name}?`)) return;
  try {
    await api(`/api/omni/agents/${agent.id}`, { method: "DELETE" });
    await load();
  } catch (error) {
    alert(`Não foi possível excluir: ${codeText(error)}`);
  }
}

$("#new-agent").addEventListener("click", async () => { await firstLoad; open(); });
$("#copy-token").addEventListener("click", async () => {
  await copyText($("#token-value").value, $("#token-value"));
  toast("Token copiado.");
});
form.addEventListener("submit", save);
for (const button of $$("[data-close]", dialog)) button.addEventListener("click", () => dialog.close());
adminSession();
const firstLoad = adminLogin().then(load);  // a click before it ends waits for the services
await firstLoad;
