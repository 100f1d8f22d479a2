// Omni → Administrativo → Respostas rápidas: texts agents expand from a shortcut (/boleto).
import { $, $$, h, toast } from "./dom.js";
import { adminLogin, adminSession, api, codeText, ifMatch } from "./common.js";
import { clearErrors, submitForm } from "./form_errors.js";

const dialog = $("#reply-dialog");
const form = $("#reply-form");
let editing = null;

async function load() {
  const [replies, services] = await Promise.all([api("/api/omni/quick-replies"), api("/api/omni/services")]);
  $("#r-service").replaceChildren(h("option", { value: "" }, "Todos os serviços (global)"),
    ...services.map((s) => h("option", { value: s.name }, s.name)));
  const body = $("#replies");
  if (!replies.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "Nenhuma resposta rápida cadastrada.")));
    return;
  }
  body.replaceChildren(...replies.map((r) => h("tr", {},
    h("td", {}, h("code", {}, r.shortcut)),
    h("td", {}, r.title),
    h("td", {}, r.service || "Global"),
    h("td", {}, r.text),
    h("td", {},
      h("button", { type: "button", class: "small", "aria-label": `Editar ${r.shortcut}`, onclick: () => open(r) }, "Editar"), " ",
      h("button", { type: "button", class: "small danger", "aria-label": `Excluir ${r.shortcut}`, onclick: () => remove(r) }, "Excluir")))));
}

function open(reply = null) {
  editing = reply;
  form.reset();
  clearErrors(form);
  $("#reply-title").textContent = reply ? `Editar resposta rápida — ${reply.shortcut}` : "Nova resposta rápida";
  form.shortcut.value = reply?.shortcut || "";
  form.title.value = reply?.title || "";
  form.text.value = reply?.text || "";
  form.service.value = reply?.service || "";
  form.service.disabled = !!reply;
  dialog.showModal();
  form.shortcut.focus();
}

async function save(event) {
  event.preventDefault();
  const body = { shortcut: form.shortcut.value.trim(), title: form.title.value.trim(), text: form.text.value.trim() };
  if (!editing && form.service.value) body.service = form.service.value;
  const saved = await submitForm(form, () => (editing
    ? api(`/api/omni/quick-replies/${editing.id}`, { method: "PATCH", body, headers: ifMatch(editing.revision) })
    : api("/api/omni/quick-replies", { method: "POST", body })), { ctx: { shortcut: body.shortcut }, say: templateText });
  if (!saved) return;
  dialog.close();
  toast(`Resposta rápida ${saved.shortcut} salva.`);
  await load();
}

/** A Texto the template engine refused (api/routes/desk_admin.py `invalid_template`): in pt-BR,
 * with the engine's own words, which say where it stopped. */
function templateText(item) {
  return item.type === "invalid_template" ? `Modelo inválido: ${item.ctx?.error ?? item.msg}` : null;
}

async function remove(reply) {
  if (!confirm(`Excluir a resposta rápida ${reply.shortcut}?`)) return;
  try {
    await api(`/api/omni/quick-replies/${reply.id}`, { method: "DELETE" });
    await load();
  } catch (error) {
    alert(`Não foi possível excluir: ${codeText(error)}`);
  }
}

$("#new-reply").addEventListener("click", () => open());
form.addEventListener("submit", save);
for (const button of $$("[data-close]", dialog)) button.addEventListener("click", () => dialog.close());
adminSession();
await adminLogin();
await load();
