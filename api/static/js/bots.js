// Digital Contact Bots → Bots: the published bots, and "Criar novo bot" (Nome do bot + the flow
// in YAML, published with PUT /api/bots/{bot}; problems shown by line next to the editor).
import { $, h } from "./dom.js";
import { ApiError, adminLogin, adminSession, api } from "./common.js";
import { dateTime } from "./format.js";
import { clearErrors, showErrors } from "./form_errors.js";
import { BOT_LINE, BOT_NAME, BOT_NAME_HELP, YamlEditor, publishYaml, warningText } from "./yaml_editor.js";

const form = $("#bot-form");
const panel = $("#create");
const editor = new YamlEditor($("[data-editor=b]"));
const starter = editor.value;
let bots = [];
let lastName = "";

/** "Abrir web chat" for a bot whose flow accepts it, else how to turn the web chat on. */
function webChatCell(b) {
  const name = encodeURIComponent(b.bot);
  if (b.web === true) return h("a", { class: "button small", href: `/chat/${name}`, "aria-label": `Abrir web chat de ${b.bot}` }, "Abrir web chat");
  if (b.web === false) {
    return h("p", { class: "muted", dataset: { hint: "web" } }, "Sem web chat: para testar o bot no navegador, inclua ",
      h("code", {}, "channels: {web: true}"), " no YAML (Editar YAML).");
  }
  return null;
}

async function load() {
  // `web_chat`: the newest version accepts the web chat (a web session of any other is a 404)
  bots = (await api("/api/bots")).map((b) => ({ ...b, web: b.web_chat }));
  $("#bots").replaceChildren(...(bots.length ? bots.map((b) => h("tr", { dataset: { bot: b.bot } },
    h("td", {}, h("strong", {}, b.bot)), h("td", { class: "num" }, b.version), h("td", {}, dateTime(b.created_at)),
    h("td", {},
      h("a", { class: "button small", href: `/bots/${encodeURIComponent(b.bot)}/atendimento-humano`, "aria-label": `Atendimento Humano de ${b.bot}` }, "Atendimento Humano"), " ",
      h("a", { class: "button small", href: `/bots/${encodeURIComponent(b.bot)}/canais`, "aria-label": `Canais de ${b.bot}` }, "Canais"), " ",
      h("a", { class: "button small", href: `/bots/${encodeURIComponent(b.bot)}/atendimento-humano#yaml`, "aria-label": `Editar YAML de ${b.bot}` }, "Editar YAML"), " ",
      webChatCell(b))))
    : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "Nenhum bot publicado. Clique em “Criar novo bot”."))]));
}

function openForm() {
  panel.classList.remove("hidden");
  $("#new-bot").setAttribute("aria-expanded", "true");
  $("#created").classList.add("hidden");
  form.bot.focus();
}

function closeForm() {
  panel.classList.add("hidden");
  $("#new-bot").setAttribute("aria-expanded", "false");
  form.reset();
  clearErrors(form);
  editor.value = starter;
  editor.clear();
  lastName = "";
  $("#new-bot").focus();
}

/** The name and the YAML's `bot:` line stay the same: typing one rewrites the other. */
const keyVariable = (name) => `${name.toUpperCase().replace(/-/g, "_")}_OMNI_KEY`;

form.bot.addEventListener("input", () => {
  const name = form.bot.value.trim();
  const m = editor.value.match(BOT_LINE);
  const previous = lastName || "novo-bot";
  if (m && m[3] === previous && BOT_NAME.test(name)) {
    let text = editor.value.replace(BOT_LINE, `$1$2${name}$2`);
    text = text.replace(`\${${keyVariable(previous)}}`, `\${${keyVariable(name)}}`);
    editor.value = text;
    lastName = name;
  }
});

editor.textarea.addEventListener("input", () => {
  const m = editor.value.match(BOT_LINE);
  if (m && BOT_NAME.test(m[3]) && m[3] !== form.bot.value.trim()) {
    form.bot.value = m[3];
    lastName = m[3];
  }
});

/** A bot of this name exists (listed, or published by someone since the list was read): said
 * next to the name, with a link to open it; nothing is published over it. */
function alreadyExists(name) {
  showErrors(form, [{ loc: ["bot"], msg: `Já existe um bot chamado “${name}”.` }]);
  $("[data-field=bot] .field-error", form).append(" ",
    h("a", { href: `/bots/${encodeURIComponent(name)}/atendimento-humano` }, `Abrir o bot ${name}`), ".");
}

async function save(event) {
  event?.preventDefault();
  clearErrors(form);
  editor.clear();
  const name = form.bot.value.trim();
  if (!BOT_NAME.test(name)) {
    showErrors(form, [{ loc: ["bot"], type: name ? "bad_name" : "missing", msg: BOT_NAME_HELP }]);
    return;
  }
  if (bots.some((b) => b.bot === name)) {
    alreadyExists(name);
    return;
  }
  const submit = $("button[type=submit]", form);
  submit.disabled = true;
  try {
    const result = await publishYaml(name, editor.value, 0); // 0: only if nobody made it meanwhile
    closeForm();
    await load().catch((error) => console.warn("bots list:", error)); // saved: the notice stands
    const notice = $("#created");
    const page = `/bots/${encodeURIComponent(result.bot)}/atendimento-humano`;
    const web = bots.find((b) => b.bot === result.bot)?.web;
    notice.replaceChildren(...[ // replaceChildren prints a null as "null": the absent hints are filtered
      h("p", {}, h("strong", {}, `Bot ${result.bot} criado`), ` — versão ${result.version}, publicada em ${dateTime(result.created_at)}.`),
      ...result.warnings.map((w) => h("p", { class: "notice warn" }, `Aviso: ${warningText(w)}`)),
      web === true ? h("p", {}, "Teste o bot agora: ", h("a", { href: `/chat/${encodeURIComponent(result.bot)}` }, `abrir o web chat de ${result.bot}`),
        " (o transbordo para um atendente só funciona depois das próximas etapas).") : null,
      web === false ? h("p", {}, "Para testar o bot no web chat, inclua ", h("code", {}, "channels: {web: true}"), " no YAML.") : null,
      h("p", {}, "Próximas etapas: ", h("a", { href: "/omni/servicos" }, "criar o serviço no Omni"), ", ",
        h("a", { href: "/omni/integracoes/digital-contact-bots" }, "gerar a API Key"), " e colá-la em ",
        h("a", { href: page }, `${result.bot} → Atendimento Humano`), "."),
    ].filter((node) => node !== null));
    notice.classList.remove("hidden");
    notice.focus();
  } catch (error) {
    if (error instanceof ApiError && error.status === 412) { // someone published it meanwhile
      alreadyExists(name);
      await load();
      return;
    }
    editor.showError(error, name);
    const count = editor.bad.size;
    $(".form-error", form).textContent = count
      ? `O fluxo tem problemas (${editor.list.children.length}); veja ao lado do editor.`
      : "O bot não foi salvo.";
    if (count) editor.list.querySelector("button")?.focus();
  } finally {
    submit.disabled = false;
  }
}

$("#new-bot").addEventListener("click", () => (panel.classList.contains("hidden") ? openForm() : form.bot.focus()));
$("#cancel-bot").addEventListener("click", closeForm);
form.addEventListener("submit", save);
editor.onSave(() => form.requestSubmit());
adminSession();
await adminLogin();
await load();
