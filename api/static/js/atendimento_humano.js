// Bots → (bot) → Atendimento Humano: platform, Chave Omni, wait-time notice, hours, days off,
// a read-only view of the flow, and the YAML itself to edit or replace. Every "Salvar" publishes
// a new version of the bot's YAML.
import { $, $$, h } from "./dom.js";
import { ApiError, adminLogin, adminSession, api, ifMatch } from "./common.js";
import { dateTime } from "./format.js";
import { clearErrors, showErrors } from "./form_errors.js";
import { YamlEditor, publishYaml, warningText } from "./yaml_editor.js";
import { loadBotPage } from "./bot_page.js";

const bot = window.TRANSBORDO_BOT;
const base = `/api/bots/${encodeURIComponent(bot)}`;
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_PT = ["Segunda-feira", "Terça-feira", "Quarta-feira", "Quinta-feira", "Sexta-feira", "Sábado", "Domingo"];
const TYPE_PT = {
  message: "Mensagem", question: "Pergunta", menu: "Menu", condition: "Condição", set: "Variáveis",
  http: "HTTP", human: "Humano", end: "Fim",
};
const OUTCOME_PT = {
  finished: "finalizado pelo atendente", closed: "fora do horário", no_agents: "sem atendentes online",
  abandoned: "abandono", voicemail: "caixa postal", unavailable: "indisponível",
};
let settings = null;
const editor = new YamlEditor($("[data-editor=y]"));
let savedSource = null; // the newest version's YAML, as the editor last loaded it
let sourceVersion = null; // the version the editor's YAML was loaded from (If-Match of its PUT)

async function load() {
  const [current, source] = await Promise.all([
    api(`${base}/settings`),
    api(`${base}/source`, { raw: true }).then((r) => r.text()),
  ]);
  settings = current;
  $("#version-line").textContent = `Versão ${settings.version} publicada`;
  renderHuman();
  renderHours();
  renderHolidays();
  renderFlow();
  renderSource(source);
}

// --- Atendimento Humano ---------------------------------------------------------------------

const KEY_STATE = {
  configured: () => "Chave configurada (guardada apenas como hash; a chave não é exibida). Cole uma nova chave para substituí-la.",
  variable: (v) => `Chave lida da variável de ambiente \${${v}} do servidor. Cole uma chave aqui para usá-la no lugar da variável.`,
  unset_variable: (v) => `A variável de ambiente \${${v}} não está definida no servidor: o bloco Humano ficará indisponível até você colar a chave aqui.`,
  missing: () => "Nenhuma chave configurada. Cole a API Key gerada em Omni → Integrações → Digital Contact Bots.",
};

function renderHuman() {
  const form = $("#human-form");
  const human = settings.human_service || { platform: "omni_v2", wait_time_notice: "never" };
  form.platform.value = human.platform || "omni_v2";
  form.omni_key.value = "";
  const key = settings.omni_key;
  form.omni_key.placeholder = key.state === "configured" ? "configurada" : "Cole aqui a API Key copiada no Omni";
  $("#key-state").textContent = KEY_STATE[key.state](key.variable);
  for (const radio of $$("[name=wait_time_notice]", form)) radio.checked = radio.value === (human.wait_time_notice || "never");
}

async function saveHuman(event) {
  event.preventDefault();
  const form = event.target;
  const change = { platform: form.platform.value, wait_time_notice: $("[name=wait_time_notice]:checked", form)?.value || "never" };
  const key = form.omni_key.value.trim();
  if (key) change.omni_key = key;
  if (!key && settings.omni_key.state === "missing") {
    showErrors(form, [{ loc: ["human_service", "omni_key"], type: "missing" }]);
    return;
  }
  await publish(form, { human_service: change });
}

// --- Horário de atendimento -----------------------------------------------------------------

/** "mon-fri" / "sat,sun" / "sun-thu" → weekday indexes (0 = Monday), like bots/schedule.py. */
function expandDays(key) {
  const days = [];
  for (const part of key.split(",")) {
    const [first, last] = part.trim().toLowerCase().split("-").map((s) => s.trim());
    const a = DAYS.indexOf(first);
    const b = last === undefined ? a : DAYS.indexOf(last);
    if (a < 0 || b < 0) continue;
    for (let i = 0; i <= (b - a + 7) % 7; i++) days.push((a + i) % 7);
  }
  return days;
}

/** No `hours` (no schedule, or one with only holidays / a time zone): open at any hour. */
const hoursGiven = () => settings.schedule?.hours != null;

function renderHours() {
  const form = $("#hours-form");
  const schedule = settings.schedule || { timezone: "America/Sao_Paulo", hours: null, holidays: [], emergency_closed: false };
  form.timezone.value = schedule.timezone;
  form.emergency_closed.checked = !!schedule.emergency_closed;
  for (const radio of $$("[name=hours_mode]", form)) {
    radio.checked = radio.value === (hoursGiven() ? "week" : "any");
    radio.onchange = showHoursMode;
  }
  showHoursMode();
  const perDay = DAYS.map(() => []);
  for (const [key, windows] of Object.entries(schedule.hours || {})) {
    for (const day of expandDays(key)) perDay[day] = windows.map((w) => w.split("-"));
  }
  $("#days").replaceChildren(...DAYS.map((day, i) => {
    const windows = h("div", { class: "windows" });
    const open = h("input", { type: "checkbox", id: `open-${day}`, name: `open_${day}`, checked: perDay[i].length > 0,
      onchange: () => { if (open.checked && !$$(".window", windows).length) addWindow(windows, day, ["08:00", "18:00"]); windows.classList.toggle("hidden", !open.checked); } });
    for (const w of perDay[i]) addWindow(windows, day, w);
    windows.append(h("button", { type: "button", class: "small add-window", "aria-label": `${DAY_PT[i]}: adicionar intervalo`, onclick: () => addWindow(windows, day, ["", ""]) }, "+ intervalo"));
    windows.classList.toggle("hidden", !open.checked);
    return h("tr", { dataset: { day } },
      h("th", { scope: "row" }, h("label", { for: `open-${day}` }, DAY_PT[i])),
      h("td", {}, open),
      h("td", { class: "field", dataset: { field: `schedule.hours.${day}` } }, windows));
  }));
}

/** The week's table only when the form sets days and hours ("Definir dias e horários"). */
function showHoursMode() {
  const form = $("#hours-form");
  $(".hours-table", form).classList.toggle("hidden", $("[name=hours_mode]:checked", form)?.value !== "week");
}

function addWindow(container, day, [start, end]) {
  const n = $$(".window", container).length + 1;
  const dayName = DAY_PT[DAYS.indexOf(day)]; // each field names its day (screen readers read it alone)
  const row = h("span", { class: "window" },
    h("input", { name: `start_${day}`, value: start, placeholder: "08:00", pattern: "[0-2][0-9]:[0-5][0-9]", inputmode: "numeric", maxlength: 5, "aria-label": `${dayName}: início do intervalo ${n}` }),
    "–",
    h("input", { name: `end_${day}`, value: end, placeholder: "18:00", pattern: "[0-2][0-9]:[0-5][0-9]", inputmode: "numeric", maxlength: 5, "aria-label": `${dayName}: fim do intervalo ${n}` }),
    h("button", { type: "button", class: "small", "aria-label": `${dayName}: remover intervalo ${n}`, onclick: () => row.remove() }, "✕"));
  const add = $(".add-window", container);
  add ? container.insertBefore(row, add) : container.append(row);
}

/** Per-day windows → day keys, joining runs of days with the same windows ("mon-fri"). */
function compressHours(perDay) {
  const hours = {};
  let i = 0;
  while (i < 7) {
    if (!perDay[i].length) { i++; continue; }
    let j = i;
    while (j + 1 < 7 && JSON.stringify(perDay[j + 1]) === JSON.stringify(perDay[i])) j++;
    hours[j > i ? `${DAYS[i]}-${DAYS[j]}` : DAYS[i]] = perDay[i];
    i = j + 1;
  }
  return hours;
}

/** The windows of a day as the form sends them ("08:00-12:00"); none when it is closed. */
function dayWindows(form, day) {
  if (!form[`open_${day}`].checked) return [];
  return $$(`tr[data-day="${day}"] .window`, form)
    .map((w) => $$("input", w).map((i) => i.value.trim()))
    .filter(([a, b]) => a || b)
    .map(([a, b]) => `${a}-${b}`);
}

async function saveHours(event) {
  event.preventDefault();
  const form = event.target;
  const schedule = { timezone: form.timezone.value.trim(), emergency_closed: form.emergency_closed.checked };
  if ($("[name=hours_mode]:checked", form)?.value === "week") schedule.hours = compressHours(DAYS.map((day) => dayWindows(form, day)));
  else if (hoursGiven()) schedule.hours = null; // back to "Sem horário definido": the hours go
  await publish(form, { schedule }); // no hours sent: absent hours stay absent (open at any hour)
}

// --- Dias de folga --------------------------------------------------------------------------

function renderHolidays() {
  const holidays = settings.schedule?.holidays || [];
  $("#holidays").replaceChildren();
  for (const holiday of holidays) addHoliday(holiday);
  if (!holidays.length) $("#holidays").append(emptyHolidays());
}

const emptyHolidays = () => h("tr", { class: "none" }, h("td", { colspan: 3, class: "empty" }, "Nenhum dia de folga cadastrado."));

function addHoliday(holiday = { date: "", name: "" }) {
  $("#holidays .none")?.remove();
  const row = h("tr", {},
    h("td", { class: "field" }, h("input", { name: "holiday_date", value: holiday.date, placeholder: "2026-12-25" })),
    h("td", { class: "field" }, h("input", { name: "holiday_name", value: holiday.name || "", placeholder: "Natal" })),
    h("td", {}, h("button", { type: "button", class: "small danger", onclick: () => {
      row.remove();
      if (!$$("#holidays tr").length) $("#holidays").append(emptyHolidays());
      numberHolidays();
    } }, "Remover")));
  $("#holidays").append(row);
  numberHolidays();
  return row;
}

/** Each row's field names and labels by its place in the list (after a removal too). */
function numberHolidays() {
  $$("#holidays tr:not(.none)").forEach((row, index) => {
    row.dataset.field = `schedule.holidays.${index}`;
    const [date, name] = $$("td.field", row);
    date.dataset.field = `schedule.holidays.${index}.date`;
    $("input", date).setAttribute("aria-label", `Data do dia de folga ${index + 1}`);
    $("input", name).setAttribute("aria-label", `Nome do dia de folga ${index + 1}`);
  });
}

async function saveHolidays(event) {
  event.preventDefault();
  const holidays = $$("#holidays tr:not(.none)").map((row) => ({
    date: $("[name=holiday_date]", row).value.trim(),
    name: $("[name=holiday_name]", row).value.trim(),
  })).filter((x) => x.date || x.name);
  await publish(event.target, { schedule: { holidays } });
}

// --- publishing -----------------------------------------------------------------------------

async function publish(form, change) {
  clearErrors(form);
  const submit = $("button[type=submit]", form);
  submit.disabled = true;
  try {
    // If-Match: the version this page shows; someone else's newer one is a 412 said in pt-BR
    const result = await api(`${base}/settings`, { method: "PATCH", body: change, headers: ifMatch(settings.version) });
    showPublished(result);
    await load();
    const warnings = $(".warnings", $("#human-form"));
    warnings.replaceChildren(...result.warnings.map((w) => h("p", { class: "notice warn" }, `Aviso: ${warningText(w)}`)));
  } catch (error) {
    showSettingsErrors(form, error);
  } finally {
    submit.disabled = false;
  }
}

/** A schedule's refusals (bots/schedule.py ISSUE_CODES; `ctx` holds the values) as these forms
 * say them: the admin never saw the YAML here, so no line or column, only the field. */
const SCHEDULE_PT = {
  unknown_time_zone: (c) => `Fuso horário desconhecido: ${c.zone}. Use um fuso da lista, como America/Sao_Paulo.`,
  bad_holiday_date: (c) => `Data de folga inválida: ${c.date} (use AAAA-MM-DD, MM-DD para todo ano ou um período como 12-24..12-26).`,
  holiday_range_reversed: (c) => `O período ${c.date} termina antes de começar.`,
  holiday_range_mixed: (c) => `Período de folga inválido: ${c.date} (as duas datas com o ano, AAAA-MM-DD, ou as duas sem, MM-DD).`,
  bad_time_window: (c) => `Intervalo inválido: ${c.window} (use HH:MM nos dois campos, como 08:00 e 12:00; o dia inteiro é 00:00 a 24:00).`,
  overlapping_windows: (c) => (c.first_day
    ? `Os intervalos ${dayPt(c.first_day)} ${c.first} e ${dayPt(c.second_day)} ${c.second} se sobrepõem (o primeiro passa da meia-noite).`
    : `Os intervalos ${c.first} e ${c.second} se sobrepõem.`),
};

function dayPt(day) {
  return DAY_PT[DAYS.indexOf(day)] || day;
}

/** The fields of `form` whose value a coded issue is about (their `data-field` paths). */
function fieldsOf(form, issue) {
  const c = issue.ctx || {};
  if (issue.code === "unknown_time_zone") return form.timezone ? [["schedule", "timezone"]] : [];
  if (c.date !== undefined) {
    return $$("#holidays tr:not(.none)", form).flatMap((row, index) =>
      ($("[name=holiday_date]", row).value.trim() === c.date ? [["schedule", "holidays", index, "date"]] : []));
  }
  if (!form.timezone) return [];
  const windows = [c.window, c.first, c.second].filter(Boolean);
  return DAYS.filter((day) => windows.every((w) => dayWindows(form, day).includes(w))).map((day) => ["schedule", "hours", day]);
}

/** A failed change of a settings form: each schedule refusal in pt-BR next to the field that
 * holds the value (or on top); the rest as the API's errors are said everywhere. */
function showSettingsErrors(form, error) {
  const issues = error instanceof ApiError && error.code === "flow_invalid" && Array.isArray(error.detail) ? error.detail : [];
  if (!issues.some((issue) => SCHEDULE_PT[issue.code])) {
    showErrors(form, error);
    return;
  }
  const items = [];
  const top = [];
  for (const issue of issues) {
    const say = SCHEDULE_PT[issue.code];
    if (!say) { items.push(issue); continue; }
    const fields = fieldsOf(form, issue);
    if (!fields.length) top.push(say(issue.ctx || {}));
    for (const loc of fields) items.push({ loc, msg: say(issue.ctx || {}) });
  }
  showErrors(form, items);
  const slot = $(".form-error", form);
  if (top.length) slot.textContent = [slot.textContent, ...top].filter(Boolean).join(" · ");
}

function showPublished(result, unchanged = false) {
  const notice = $("#published");
  notice.replaceChildren(
    unchanged ? h("strong", {}, `Nada mudou: a versão ${result.version} continua publicada.`)
      : h("strong", {}, `Versão ${result.version} publicada`), unchanged ? "" : ` em ${dateTime(result.created_at)}.`,
    ...result.warnings.map((w) => h("div", { class: "notice warn" }, `Aviso: ${warningText(w)}`)));
  notice.classList.remove("hidden");
}

// --- the YAML -------------------------------------------------------------------------------

/** The newest source goes into the editor unless it holds edits not saved yet. */
function renderSource(source) {
  const dirty = savedSource !== null && editor.value !== savedSource;
  if (!dirty) { editor.value = source; sourceVersion = settings.version; }
  else if (source !== savedSource) $(".form-error", $("#yaml-form")).textContent = `Uma nova versão (${settings.version}) foi publicada enquanto você editava; suas alterações foram mantidas no editor. “Descartar alterações” carrega a versão nova.`;
  savedSource = source;
}

async function saveYaml(event) {
  event?.preventDefault();
  const form = $("#yaml-form");
  clearErrors(form);
  editor.clear();
  const submit = $("button[type=submit]", form);
  submit.disabled = true;
  const before = settings.version;
  try {
    const result = await publishYaml(bot, editor.value, sourceVersion);
    savedSource = null; // load the stored source (the key masked) into the editor
    showPublished(result, result.version === before);
    await load();
    editor.showWarnings(result.warnings, result.version === before
      ? `Nada mudou: a versão ${result.version} continua publicada.` : `Versão ${result.version} publicada.`);
  } catch (error) {
    editor.showError(error, bot);
    const count = editor.list.children.length;
    $(".form-error", form).textContent = editor.bad.size
      ? `O fluxo tem problemas (${count}); veja ao lado do editor. Nada foi publicado.`
      : error.code === "changed_since_read"
        ? `Outra pessoa publicou a versão ${error.extra.version} deste bot enquanto você editava. Nada foi publicado: copie suas alterações, recarregue a página (F5) e aplique-as na versão atual.`
        : "Nada foi publicado.";
    if (editor.bad.size) editor.list.querySelector("button")?.focus();
  } finally {
    submit.disabled = false;
  }
}

function resetYaml() {
  clearErrors($("#yaml-form"));
  editor.clear();
  editor.value = savedSource ?? "";
  sourceVersion = settings.version;
  editor.textarea.focus();
}

// --- the flow, read-only --------------------------------------------------------------------

function renderFlow() {
  const blocks = Object.entries(settings.blocks);
  $("#blocks").replaceChildren(...blocks.map(([name, block]) => {
    const human = block.type === "human";
    const lines = [];
    if (block.text) lines.push(h("p", {}, `“${block.text}”`));
    if (block.type === "menu") lines.push(h("p", {}, "Opções: ", block.options.map((o) => `${o.label} → ${o.next}`).join("; ")));
    if (block.type === "question") lines.push(h("p", {}, `Guarda em {{ ${block.save_as} }}`));
    if (block.type === "condition") lines.push(h("p", {}, block.branches.map((b) => `se ${b.if} → ${b.next}`).join("; "), `; senão → ${block.else}`));
    if (block.type === "http") lines.push(h("p", {}, `${block.method} ${block.url}`));
    if (human) {
      lines.push(
        h("p", {}, h("strong", {}, "Fila de atendimento: "), block.service || "a do serviço da integração"),
        h("p", {}, h("strong", {}, "Exibir nome do agente: "), block.show_agent_name ? "sim" : "não"),
        h("p", {}, h("strong", {}, "Checar dia e horário de atendimento: "), block.check_hours ? "sim" : "não"),
        h("p", {}, h("strong", {}, "Checar se há atendentes online: "), block.check_agents_online ? "sim" : "não"),
        block.max_wait_seconds ? h("p", {}, h("strong", {}, "Espera máxima: "), `${block.max_wait_seconds} s`) : null,
        h("p", {}, h("strong", {}, "Saídas: "), Object.entries(block.on || {}).map(([k, v]) => `${OUTCOME_PT[k] || k} → ${v}`).join("; ") || "—"));
    }
    if (block.next) lines.push(h("p", { class: "muted" }, `próximo → ${block.next}`));
    return h("article", {
      class: `block${human ? " human" : ""}${name === settings.start ? " start" : ""}`,
      dataset: { block: name, type: block.type },
      "aria-label": `Bloco ${TYPE_PT[block.type] || block.type} ${name}`,
    },
      h("div", { class: "kind" }, TYPE_PT[block.type] || block.type, name === settings.start ? " · início" : ""),
      h("h3", {}, name), lines);
  }));
}

async function download() {
  const response = await api(`${base}/source`, { raw: true });
  const url = URL.createObjectURL(new Blob([await response.text()], { type: "application/yaml" }));
  const link = h("a", { href: url, download: `${bot}.yaml` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

$("#human-form").addEventListener("submit", saveHuman);
$("#hours-form").addEventListener("submit", saveHours);
$("#holidays-form").addEventListener("submit", saveHolidays);
$("#add-holiday").addEventListener("click", () => $("[name=holiday_date]", addHoliday()).focus());
$("#download").addEventListener("click", download);
$("#yaml-form").addEventListener("submit", saveYaml);
$("#yaml-reset").addEventListener("click", resetYaml);
editor.onSave(() => $("#yaml-form").requestSubmit());
adminSession();
await adminLogin();
await loadBotPage(bot, load, $("#version-line"));
