// Omni → Administrativo → Serviços: list, "Novo Serviço", edit, delete.
import { $, $$, h, toast } from "./dom.js";
import { adminLogin, adminSession, api, codeText, ifMatch } from "./common.js";
import { clearErrors, submitForm } from "./form_errors.js";
import { careOf, fillCare } from "./servicos_care.js";

const MAX_CARDS = 10;
const MAX_BUTTONS = 3;
const dialog = $("#service-dialog");
const form = $("#service-form");
let services = [];
let editing = null; // the service being edited, or null for "Novo Serviço"

async function load() {
  services = await api("/api/omni/services");
  const body = $("#services");
  if (!services.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "empty" }, "Nenhum serviço cadastrado. Clique em “Novo Serviço”.")));
    return;
  }
  body.replaceChildren(...services.map((s) => h("tr", { dataset: { service: s.name } },
    h("td", {}, h("strong", {}, s.name)),
    h("td", {}, s.extension || "—"),
    h("td", { class: "num" }, `${s.service_level_percent}%`),
    h("td", { class: "num" }, s.answer_time_seconds),
    h("td", { class: "num" }, s.abandon_seconds),
    h("td", {}, s.agent_screen ? "Sim" : "Não"),
    h("td", {}, options(s)),
    h("td", { class: "actions-cell" },
      h("button", { type: "button", class: "small", onclick: () => open(s), "aria-label": `Editar ${s.name}` }, "Editar"),
      " ",
      h("button", { type: "button", class: "small danger", onclick: () => remove(s), "aria-label": `Excluir ${s.name}` }, "Excluir")))));
}

function options(s) {
  const tags = [];
  if (s.transfer_group.length) tags.push(`Transfere para: ${s.transfer_group.join(", ")}`);
  if (s.webhook.enabled) tags.push("Webhook");
  if (s.hidden) tags.push("Oculto");
  if (s.queue_notifications.enabled) tags.push(`Carrossel (${s.queue_notifications.cards.length})`);
  if (s.voicemail_seconds) tags.push(`Caixa postal ${s.voicemail_seconds} s`);
  return tags.length ? tags.map((t) => h("span", { class: "badge" }, t)) : h("span", { class: "muted" }, "—");
}

// --- the form -------------------------------------------------------------------------------

function open(service = null) {
  editing = service;
  form.reset();
  clearErrors(form);
  $("#service-title").textContent = service ? `Editar serviço — ${service.name}` : "Novo Serviço";
  const s = service || {
    name: "", service_level_percent: 80, answer_time_seconds: 60, abandon_seconds: 300, voicemail_seconds: 0,
    extension: null, agent_screen: true, transfer_group: [], hidden: false,
    assignment: "manual", offer_seconds: 30, max_lapses: 3, agent_capacity: null,
    webhook: { enabled: false, url: null, has_secret: false },
    queue_notifications: { enabled: false, interval_seconds: 60, cards: [] },
    wrapup: { required: false, codes: [] },
  };
  form.name.value = s.name;
  form.service_level_percent.value = s.service_level_percent;
  form.answer_time_seconds.value = s.answer_time_seconds;
  form.abandon_seconds.value = s.abandon_seconds;
  form.voicemail_seconds.value = s.voicemail_seconds;
  form.extension.value = s.extension || "";
  form.agent_screen.checked = s.agent_screen;
  form.hidden.checked = s.hidden;
  form.wrapup_required.checked = s.wrapup?.required || false;
  form.wrapup_codes.value = (s.wrapup?.codes || []).join("\n");
  form.assignment.value = s.assignment || "manual";
  form.offer_seconds.value = s.offer_seconds ?? 30;
  form.max_lapses.value = s.max_lapses ?? 3;
  form.agent_capacity.value = s.agent_capacity ?? "";
  form.group_enabled.checked = s.transfer_group.length > 0;
  renderTransferOptions(s);
  form.webhook_enabled.checked = s.webhook.enabled;
  form.webhook_url.value = s.webhook.url || "";
  form.webhook_secret.value = "";
  $("#webhook-secret-state").textContent = s.webhook.has_secret
    ? "Um segredo já está guardado. Preencha apenas para trocá-lo."
    : "Os eventos são assinados com HMAC usando este segredo. Se ficar em branco, um segredo é gerado e exibido uma única vez.";
  form.notify_enabled.checked = s.queue_notifications.enabled;
  form.interval_seconds.value = s.queue_notifications.interval_seconds;
  $("#cards").replaceChildren();
  for (const card of s.queue_notifications.cards) addCard(card);
  fillCare(form, s.care);
  syncToggles();
  dialog.showModal();
  form.name.focus();
}

function renderTransferOptions(s) {
  const others = services.filter((o) => o.name !== s.name);
  const box = $("#transfer-options");
  if (!others.length) {
    box.replaceChildren(h("p", { class: "muted" }, "Não há outros serviços cadastrados."));
    return;
  }
  box.replaceChildren(...others.map((o, i) => h("label", { class: "switch", for: `tg-${i}` },
    h("input", { type: "checkbox", id: `tg-${i}`, name: "transfer_target", value: o.name, checked: s.transfer_group.includes(o.name) }),
    o.name, o.extension ? h("span", { class: "muted" }, ` (ramal ${o.extension})`) : null)));
}

function syncToggles() {
  $("#transfer-group").classList.toggle("hidden", !form.group_enabled.checked);
  $("#webhook-fields").classList.toggle("hidden", !form.webhook_enabled.checked);
  $("#notify-fields").classList.toggle("hidden", !form.notify_enabled.checked);
  if (form.notify_enabled.checked && !$$(".card-editor", $("#cards")).length) addCard();
  syncAddCard();
  renumberCards();
}

/** "Adicionar cartão" is disabled at the limit, and says why in visible text. */
function syncAddCard() {
  const full = $$(".card-editor", $("#cards")).length >= MAX_CARDS;
  $("#add-card").disabled = full;
  $("#add-card-why").textContent = full ? `Limite de ${MAX_CARDS} cartões atingido.` : "";
}

function addCard(card = { title: "", text: "", image_url: null, buttons: [] }) {
  const editor = h("section", { class: "card-editor", "aria-label": "Cartão" },
    h("header", {}, h("h3", { class: "card-title" }, "Cartão"),
      h("button", { type: "button", class: "small danger", onclick: () => { editor.remove(); syncToggles(); } }, "Remover cartão")),
    h("div", { class: "field", dataset: { role: "title" } },
      h("label", {}, "Título"), h("input", { name: "card_title", maxlength: 80, value: card.title })),
    h("div", { class: "field", dataset: { role: "text" } },
      h("label", {}, "Texto"), h("textarea", { name: "card_text", maxlength: 1000, rows: 2 }, card.text)),
    h("div", { class: "field", dataset: { role: "image_url" } },
      h("label", {}, "URL da imagem (opcional)"), h("input", { name: "card_image", type: "url", value: card.image_url || "" })),
    h("div", { class: "card-buttons", dataset: { role: "buttons" } }),
    h("button", { type: "button", class: "small add-button", onclick: () => { addButton(editor); } }, "Adicionar botão"),
    h("span", { class: "help add-button-why" }));
  $("#cards").append(editor);
  for (const button of card.buttons || []) addButton(editor, button);
  syncLabels(editor);
  if (form.isConnected) { syncAddCard(); renumberCards(); }
  return editor;
}

function addButton(editor, button = { label: "", url: null, payload: null }) {
  const kind = button.url ? "url" : "payload";
  const row = h("div", { class: "row button-row", dataset: { role: "button" } },
    h("div", { class: "field", dataset: { role: "label" } }, h("label", {}, "Rótulo do botão"), h("input", { name: "button_label", maxlength: 40, value: button.label })),
    h("div", { class: "field" }, h("label", {}, "Ação"),
      h("select", { name: "button_kind", onchange: () => { syncLabels(editor); } },
        h("option", { value: "payload", selected: kind === "payload" }, "Enviar resposta"),
        h("option", { value: "url", selected: kind === "url" }, "Abrir link"))),
    h("div", { class: "field", dataset: { role: "value" } }, h("label", {}, "Resposta ou link"), h("input", { name: "button_value", value: button.url || button.payload || "" })),
    h("button", { type: "button", class: "small danger", onclick: () => { row.remove(); syncLabels(editor); } }, "Remover botão"));
  $(".card-buttons", editor).append(row);
  syncLabels(editor);
}

/** Number cards and wire label/for, data-field paths (for 422 errors) after any change. */
function renumberCards() {
  $$(".card-editor", $("#cards")).forEach((editor, i) => {
    editor.dataset.field = `queue_notifications.cards.${i}`;
    $(".card-title", editor).textContent = `Cartão ${i + 1}`;
    editor.setAttribute("aria-label", `Cartão ${i + 1}`);
    syncLabels(editor);
  });
}

function syncLabels(editor) {
  const base = editor.dataset.field || "queue_notifications.cards.x";
  for (const role of ["title", "text", "image_url"]) {
    const field = $(`[data-role="${role}"]`, editor);
    field.dataset.field = `${base}.${role}`;
    const control = $("input,textarea", field);
    control.id = `${base}.${role}`.replaceAll(".", "-");
    $("label", field).htmlFor = control.id;
  }
  const rows = $$(".button-row", editor);
  rows.forEach((row, j) => {
    for (const [index, field] of [...row.querySelectorAll(".field")].entries()) {
      const control = $("input,select", field);
      control.id = `${base}-b${j}-${index}`.replaceAll(".", "-");
      $("label", field).htmlFor = control.id;
    }
    $('[data-role="label"]', row).dataset.field = `${base}.buttons.${j}.label`;
    // The value's path follows the kind sent (payload()); the row's own errors (button_action:
    // neither or both) go there too, not to the bottom of the card: its input carries the row's path.
    const value = $('[data-role="value"]', row);
    value.dataset.field = `${base}.buttons.${j}.${$("[name=button_kind]", row).value}`;
    $("[name=button_value]", value).dataset.field = `${base}.buttons.${j}`;
  });
  const full = rows.length >= MAX_BUTTONS;
  $(".add-button", editor).disabled = full; // and why, in visible text
  $(".add-button-why", editor).textContent = full ? `Limite de ${MAX_BUTTONS} botões por cartão atingido.` : "";
}

function payload() {
  const number = (name) => (form[name].value === "" ? form[name].value : Number(form[name].value));
  const body = {
    name: form.name.value.trim(),
    service_level_percent: number("service_level_percent"),
    answer_time_seconds: number("answer_time_seconds"),
    abandon_seconds: number("abandon_seconds"),
    voicemail_seconds: number("voicemail_seconds"),
    extension: form.extension.value.trim() || null,
    agent_screen: form.agent_screen.checked,
    transfer_group: form.group_enabled.checked ? $$("[name=transfer_target]:checked", form).map((i) => i.value) : [],
    hidden: form.hidden.checked,
    wrapup: {
      required: form.wrapup_required.checked,
      codes: form.wrapup_codes.value.split("\n").map((c) => c.trim()).filter(Boolean),
    },
    assignment: form.assignment.value,
    offer_seconds: number("offer_seconds"),
    max_lapses: number("max_lapses"),
    agent_capacity: form.agent_capacity.value === "" ? null : number("agent_capacity"),
    webhook: { enabled: form.webhook_enabled.checked, url: form.webhook_url.value.trim() || null },
    queue_notifications: { enabled: form.notify_enabled.checked, interval_seconds: number("interval_seconds"), cards: [] },
    care: careOf(form, editing?.care),
  };
  const secret = form.webhook_secret.value.trim();
  if (secret) body.webhook.secret = secret;
  if (form.notify_enabled.checked) {
    body.queue_notifications.cards = $$(".card-editor", form).map((editor) => ({
      title: $("[name=card_title]", editor).value.trim(),
      text: $("[name=card_text]", editor).value.trim(),
      image_url: $("[name=card_image]", editor).value.trim() || null,
      buttons: $$(".button-row", editor).map((row) => {
        const value = $("[name=button_value]", row).value.trim();
        const kind = $("[name=button_kind]", row).value;
        return { label: $("[name=button_label]", row).value.trim(), [kind]: value || null };
      }),
    }));
  } else if (editing) {
    body.queue_notifications.cards = editing.queue_notifications.cards; // kept while disabled
  }
  if (editing && body.extension === (editing.extension || null)) delete body.extension;
  return body;
}

async function save(event) {
  event.preventDefault();
  const body = payload();
  const saved = await submitForm(form, () => (editing ? update(body) : api("/api/omni/services", { method: "POST", body })),
    { ctx: { name: body.name ?? editing?.name, extension: body.extension } });
  if (!saved) return; // refused (said next to the fields), or a rename the admin chose not to force
  dialog.close();
  toast(editing ? `Serviço “${saved.name}” atualizado.` : `Serviço “${saved.name}” criado.`);
  if (saved.bots_to_update?.length) {
    alert(`Serviço renomeado para “${saved.name}”. Publique de novo, com o novo nome no bloco Humano, o fluxo de: ${saved.bots_to_update.join(", ")}.`);
  }
  if (saved.webhook?.secret) {
    $("#secret-value").value = saved.webhook.secret;
    $("#secret-dialog").showModal();
  }
  await load();
}

/** PATCH the service as the form read it (If-Match: its revision). A rename that published bots
 * would lose is said in pt-BR and done only if the admin confirms (`?force=true`). */
async function update(body) {
  const path = `/api/omni/services/${editing.id}`;
  const headers = ifMatch(editing.revision);
  try {
    return await api(path, { method: "PATCH", body, headers });
  } catch (error) {
    if (error.code !== "service_in_use") throw error;
    if (!confirm(`${codeText(error)}\n\nRenomear mesmo assim?`)) return null;
    return api(`${path}?force=true`, { method: "PATCH", body, headers });
  }
}

/** DELETE the service once the admin confirms. One that published bots name is said in pt-BR
 * (which bots) and deleted only if the admin confirms again (`?force=true`). */
async function remove(service) {
  if (!confirm(`Excluir o serviço “${service.name}”? As integrações dele serão revogadas.`)) return;
  const path = `/api/omni/services/${service.id}`;
  try {
    try {
      await api(path, { method: "DELETE" });
    } catch (error) {
      if (error.code !== "service_in_use") throw error;
      if (!confirm(`${inUse(error)}\n\nExcluir mesmo assim?`)) return;
      await api(`${path}?force=true`, { method: "DELETE" });
    }
    toast(`Serviço “${service.name}” excluído.`);
    await load();
  } catch (error) {
    alert(`Não foi possível excluir: ${codeText(error)}`);
  }
}

/** Why deleting the service would break published flows (the 409's `bots` and `service`). */
function inUse(error) {
  const { bots = [], service } = error.extra || {};
  const whose = bots.length > 1 ? "dos bots" : "do bot";
  return `O fluxo publicado ${whose} ${bots.join(", ")} usa o serviço “${service}” no bloco Humano: `
    + "excluí-lo deixaria esse transbordo indisponível até o fluxo ser publicado com outro serviço.";
}

$("#new-service").addEventListener("click", async () => { await firstLoad; open(); });
form.addEventListener("submit", save);
form.addEventListener("change", (event) => {
  if (["group_enabled", "webhook_enabled", "notify_enabled"].includes(event.target.name)) syncToggles();
});
$("#add-card").addEventListener("click", () => { addCard(); syncToggles(); });
for (const button of $$("[data-close]", dialog)) button.addEventListener("click", () => dialog.close());

adminSession();
const firstLoad = adminLogin().then(load);  // a click before it ends waits for the services
await firstLoad;
