// The YAML editor of a bot's flow (Bots → Criar novo bot, and a bot's page → YAML): line
// numbers, the 422 problems `[{line, column, message, code, ctx}]` listed next to it in pt-BR
// (by `code`) with their lines marked, and publishing with PUT /api/bots/{bot}. Warnings of
// publishing are said in pt-BR.
import { $, h } from "./dom.js";
import { ApiError, api, codeText, ifMatch } from "./common.js";

/** The flow language's rule for a bot name (bots/models.py). */
export const BOT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const BOT_NAME_HELP = "Use letras minúsculas, números, “-” e “_” (até 63 caracteres), começando por letra ou número.";

/** PUT the YAML as bot `bot`: {bot, version, created_at, warnings}; a 422 has the problems.
 * `version`: the one the YAML was written on (0: a new bot, sent as `If-None-Match: *`); a 412
 * `changed_since_read` when someone published another meanwhile (for 0: the bot exists). */
export function publishYaml(bot, source, version = null) {
  const headers = version === 0 ? { "If-None-Match": "*" } : ifMatch(version);
  return api(`/api/bots/${encodeURIComponent(bot)}`, { method: "PUT", text: source, contentType: "application/yaml", headers });
}

const FIX = "crie uma em Omni → Integrações → Digital Contact Bots → Criar novo e cole a API Key em Atendimento Humano";
const WARNINGS_PT = [
  [/^environment variable (\w+) is not set/, (m) => `A variável de ambiente \${${m[1]}} não está definida no servidor: o bloco Humano ficará indisponível até você colar a Chave Omni em Atendimento Humano.`],
  [/has no Omni key/, () => "O bot não tem Chave Omni: os blocos Humano terminarão como “indisponível”."],
  [/matches no live Omni integration/, () => "A Chave Omni não corresponde a nenhuma integração ativa do Omni (revogada, trocada ou com o serviço excluído): cole uma nova API Key em Atendimento Humano."],
  [/matches no Omni integration/, () => `A Chave Omni não corresponde a nenhuma integração do Omni; ${FIX}.`],
  [/belongs to an integration of another bot/, () => `A Chave Omni pertence à integração de outro bot; ${FIX}.`],
  [/was revoked/, () => `A Chave Omni foi revogada (ou o serviço dela foi excluído); ${FIX}.`],
  [/:(\d+):\d+: block '([^']+)': checks hours .* has no `closed` route/, (m) => `O bloco Humano “${m[2]}” (linha ${m[1]}) checa o horário, mas não tem rota “fora do horário”: fora do horário, em dias de folga ou no fechamento emergencial o cliente ficaria sem resposta. Inclua on: {closed: <bloco>} com uma mensagem como “Voltamos {{ next_opening }}.”, ou check_hours: false.`],
  [/:(\d+):\d+: schedule\.hours: opens on no day/, (m) => `O horário de atendimento (linha ${m[1]}) não abre em nenhum dia: os blocos Humano que checam o horário seguirão o caminho “fora do horário” a qualquer hora. Defina os dias e horários, ou escolha “Sem horário definido: atende a qualquer hora” (os dias de folga e o fechamento emergencial continuam valendo).`],
  [/is masked and no earlier version has a key/, () => "A Chave Omni está mascarada e nenhuma versão anterior tem chave: cole a API Key em Atendimento Humano."],
];

/** A warning of publishing in pt-BR (the API's own text when it is not one we know). */
export function warningText(warning) {
  for (const [pattern, say] of WARNINGS_PT) {
    const m = String(warning).match(pattern);
    if (m) return say(m);
  }
  return String(warning);
}

/** The `bot:` line of a YAML source (the name the file gives itself). */
export const BOT_LINE = /^(bot:[ \t]*)(["']?)([^\s#"']*)\2/m;

const num = (value) => Number(value).toLocaleString("pt-BR");
/** The values a code may come without (none close, a secret's input, no place). */
const OPTIONAL = new Set(["key", "input", "got", "quotes", "context", "context_line", "allowed", "suggestion", "block", "loc", "lacks"]);
const EXPECTED_PT = {
  string_type: "um texto", int_type: "um número inteiro", int_parsing: "um número inteiro", int_from_float: "um número inteiro",
  float_type: "um número", float_parsing: "um número", bool_type: "true ou false", bool_parsing: "true ou false",
  dict_type: "um mapeamento (chave: valor)", model_type: "um mapeamento (chave: valor)",
  model_attributes_type: "um mapeamento (chave: valor)", list_type: "uma lista",
};
const GOT_PT = { null: () => "nada", bool: (c) => c.input, number: (c) => `o número ${c.input}`, text: (c) => `“${c.input}”`, list: () => "uma lista", mapping: () => "um mapeamento" };
const BOUNDS_PT = { greater_than: "maior que", greater_than_equal: "no mínimo", less_than: "menor que", less_than_equal: "no máximo" };
const KIND_PT = { int: "um número inteiro", float: "um número", bool: "um valor true ou false", null: "um valor nulo (null)" };
const RULES_PT = {
  bot_name: "não é um nome de bot válido (letras minúsculas, números, “-” e “_”)",
  variable_name: "não é um nome de variável válido (letras, números e “_”, sem começar por número)",
};
/** What a value is, for a sentence: the key it is, its text, or "este valor" (a secret). */
const subject = (c) => (c.key !== undefined ? `a chave “${c.key}”` : c.input !== undefined ? `“${c.input}”` : "este valor");
const orPt = (text) => String(text).replace(/ or /g, " ou ");
/** A library's own words (Jinja, RE2), quoted as they came, without their final period. */
const technical = (text) => String(text).replace(/\.$/, "");
const LACKS_PT = { backreferences: ": o RE2 não tem referências de volta", lookaround: ": o RE2 não tem lookahead nem lookbehind" };

/** The flow loader's issues by code (bots/errors.py; docs/flows.md "Errors"), in pt-BR from
 * their `ctx`; the place (`block`, `loc`) goes before each. Technical words (the YAML parser's,
 * Jinja's, RE2's) stay as they came, in parentheses after the sentence. */
export const ISSUES_PT = {
  yaml_syntax: (c) => `Erro de sintaxe no YAML${c.quotes === "brackets" ? ": dentro de { } ou [ ], ponha entre aspas os textos que têm , : # [ ] { }" : ""} (${c.problem}${c.context ? `; ${c.context}, linha ${c.context_line}` : ""})`,
  yaml_tab: () => "O YAML tem uma tabulação: indente com espaços",
  yaml_two_documents: () => "O arquivo tem mais de um documento YAML: um bot é um documento só (remova o “---”)",
  yaml_character: (c) => `O caractere ${c.codepoint} não é permitido no YAML: apague-o (costuma vir de um texto colado)`,
  empty_file: () => "O arquivo está vazio: um bot precisa de “bot”, “start” e “blocks”",
  not_a_mapping: () => "Um bot é um mapeamento de chaves (bot:, start:, blocks:, …), não uma lista nem um texto solto",
  not_utf8: () => "O arquivo não é texto UTF-8: salve-o como UTF-8",
  file_too_large: (c) => `O arquivo tem ${num(c.size)} bytes; um bot tem no máximo ${num(c.max)} (TRANSBORDO_FLOW_MAX_BYTES)`,
  too_many_blocks: (c) => `O bot tem ${num(c.count)} blocos; o máximo é ${num(c.max)} (TRANSBORDO_FLOW_MAX_BLOCKS)`,
  too_many_values: (c) => `O arquivo é grande demais: mais de ${num(c.max)} valores, contando os que os aliases repetem`,
  too_deep: () => "O YAML tem níveis demais (listas e mapeamentos uns dentro dos outros)",
  duplicate_bot: (c) => `O bot “${c.bot}” já é o bot de ${c.file}`,
  recursive_alias: () => "Um alias aponta para ele mesmo (dados recursivos não são permitidos)",
  unsupported_tag: (c) => `Tag do YAML não aceita: ${c.tag}`,
  invalid_scalar: (c) => `“${c.value}” não é ${KIND_PT[c.kind] ?? c.kind} válido`,
  invalid_text: (c) => `O texto tem um caractere inválido (${c.codepoint}, meio par UTF-16): apague o escape que o escreve`,
  complex_key: () => "Uma chave deve ser um texto simples, não uma lista nem um mapeamento",
  duplicate_key: (c) => `Chave “${c.key}” repetida (já definida na linha ${c.first_line})`,
  missing: (c) => `falta “${c.field}”, que é obrigatório`,
  extra_forbidden: (c) => `chave desconhecida “${c.key}”${c.allowed ? ` (as permitidas: ${c.allowed})` : ""}`,
  union_tag_invalid: (c) => `tipo de bloco desconhecido “${c.tag}” (os tipos: ${c.types})`,
  union_tag_not_found: (c) => `falta “type”, o tipo do bloco (os tipos: ${c.types})`,
  ...Object.fromEntries(Object.entries(EXPECTED_PT).map(([code, noun]) => [code, (c) => `era esperado ${noun}${GOT_PT[c.got] ? `, mas veio ${GOT_PT[c.got](c)}` : ""}`])),
  literal_error: (c) => `${subject(c)} não é ${c.key !== undefined ? "permitida" : "permitido"} (o esperado: ${orPt(c.expected)})`,
  string_pattern_mismatch: (c) => `${subject(c)} ${RULES_PT[c.rule] ?? `não segue o padrão ${c.pattern}`}`,
  string_too_short: (c) => (Number(c.min_length) === 1 ? "não pode ficar vazio" : `precisa de ao menos ${c.min_length} caracteres`),
  string_too_long: (c) => `é longo demais (no máximo ${c.max_length} caracteres)`,
  too_short: (c) => `precisa de ao menos ${c.min_length} ${Number(c.min_length) === 1 ? "item" : "itens"}`,
  too_long: (c) => `tem itens demais (no máximo ${c.max_length})`,
  finite_number: () => "deve ser um número finito",
  ...Object.fromEntries(Object.entries(BOUNDS_PT).map(([code, bound]) => [code, (c) => `deve ser ${bound} ${num(c.limit)}${c.input !== undefined ? ` (veio ${c.input})` : ""}`])),
  escape_route_trigger: () => "uma rota de fuga precisa de keywords ou de inactivity_seconds (um dos dois)",
  escape_route_action: () => "uma rota de fuga precisa de text ou de goto (um dos dois)",
  timeout_pair: () => "timeout_seconds e on_timeout andam juntos (informe os dois ou nenhum)",
  unknown_block: (c) => `bloco desconhecido “${c.target}”${c.suggestion ? ` (você quis dizer “${c.suggestion}”?)` : ""}`,
  unreachable_block: (c) => `nunca é alcançado a partir do início “${c.start}” (nenhum bloco leva a ele)`,
  waitless_loop: (c) => `o laço ${c.cycle} nunca espera o cliente; inclua nele um bloco question, menu ou human (Humano), ou um end`,
  reserved_variable: (c) => `“${c.name}” é um nome que o sistema fornece e não pode receber valores (os reservados: ${c.reserved})`,
  template_error: (c) => `o texto tem um erro de modelo (${technical(c.error)})`,
  expression_error: (c) => `a condição tem um erro (${technical(c.error)})`,
  bad_pattern: (c) => `expressão regular inválida${LACKS_PT[c.lacks] ?? ""} (${technical(c.error)})`,
  no_human_service: () => "o bot não tem as configurações de Atendimento Humano (inclua human_service com platform e omni_key)",
  duplicate_label: (c) => `o mesmo texto da opção options[${c.same_as}]`,
  duplicate_route: (c) => `a mesma rota de escape_routes[${c.same_as}]`,
  empty_keyword: () => "a palavra-chave precisa de uma letra ou um número (espaços, pontuação, símbolos e emoji são ignorados na comparação, então ela nunca coincidiria)",
  duplicate_keyword: (c) => `a palavra-chave “${c.keyword}” já é usada por escape_routes[${c.same_as}]`,
  env_bad_reference: (c) => `referência inválida ${c.reference}: escreva \${NOME}`,
  env_not_allowed: (c) => `um fluxo não pode ler a variável de ambiente ${c.name} (as permitidas aqui: ${c.allowed}; quem define é o operador, em TRANSBORDO_FLOW_ENV_ALLOW)`,
  env_not_set: (c) => `a variável de ambiente ${c.name} não está definida no servidor`,
  env_unclosed: () => "“${” sem o “}”: escreva ${NOME}",
  unknown_time_zone: (c) => `Fuso horário desconhecido: ${c.zone} (use um fuso como America/Sao_Paulo)`,
  bad_time_window: (c) => `Intervalo inválido: ${c.window} (use HH:MM-HH:MM, como 08:00-12:00; o dia inteiro é 00:00-24:00)`,
  overlapping_windows: (c) => (c.first_day
    ? `Os intervalos ${c.first_day} ${c.first} e ${c.second_day} ${c.second} se sobrepõem (o primeiro passa da meia-noite)`
    : `Os intervalos ${c.first} e ${c.second} se sobrepõem`),
  unknown_day: (c) => `Dia desconhecido “${c.day}” em “${c.key}” (use mon, tue, wed, thu, fri, sat, sun ou um período como mon-fri)`,
  day_twice: (c) => `O dia ${c.day} aparece duas vezes (em “${c.key}”)`,
  bad_holiday_date: (c) => `Data de folga inválida: ${c.date} (use AAAA-MM-DD, MM-DD para todo ano ou um período como 12-24..12-26)`,
  holiday_range_reversed: (c) => `O período ${c.date} termina antes de começar`,
  holiday_range_mixed: (c) => `Período de folga inválido: ${c.date} (as duas datas com o ano, AAAA-MM-DD, ou as duas sem, MM-DD)`,
};

/** "Bloco “menu”, options[0].next: " — where a coded issue is, from its `ctx`. */
function placeText(c) {
  const where = [c.block !== undefined ? `Bloco “${c.block}”` : "", c.loc ?? ""].filter(Boolean).join(", ");
  return where ? `${where}: ` : "";
}

/** A flow problem in pt-BR by its code; a code this page does not know (or whose values did not
 * come) is said in the loader's own words, written for the YAML's author. */
function issueText(issue, ctx) {
  const c = issue.ctx || {};
  if (issue.code === "bot_name_mismatch") {
    const fileBot = c.file_bot ?? ctx.source?.match(BOT_LINE)?.[3];
    return `O arquivo é do bot “${fileBot ?? "?"}”, não “${c.bot ?? ctx.bot ?? "?"}”: a linha “bot:” deve ser igual ao Nome do bot.`;
  }
  if (issue.code === "yaml_not_editable") return "O YAML publicado não pode ser editado por esta tela: corrija-o na aba YAML.";
  const say = Object.hasOwn(ISSUES_PT, issue.code) ? ISSUES_PT[issue.code] : null;
  let text = null;
  // a value the code needs that did not come (an older server): the loader's own words; a
  // designer's own "undefined" (next: undefined) is no such sign
  let lacking = false;
  const given = new Proxy(c, { get: (values, key) => {
    if (typeof key === "string" && !Object.hasOwn(values, key) && !OPTIONAL.has(key)) lacking = true;
    return values[key];
  } });
  try { text = say ? say(given) : null; } catch { text = null; }
  if (!text || (lacking && /undefined|NaN/.test(text))) return String(issue.message);
  const place = placeText(c);
  return place ? `${place}${text}.` : `${text[0].toUpperCase()}${text.slice(1)}.`;
}

export class YamlEditor {
  constructor(root) {
    this.root = root;
    this.textarea = $("textarea", root);
    this.gutter = $(".gutter", root);
    this.list = $(".issue-list", root);
    this.none = $(".none", root);
    this.warnings = $(".warnings", root);
    this.bad = new Set();
    this.shown = "";
    this.textarea.addEventListener("input", () => this.renderGutter());
    this.textarea.addEventListener("scroll", () => { this.gutter.scrollTop = this.textarea.scrollTop; });
    this.renderGutter();
  }

  get value() { return this.textarea.value; }

  set value(text) {
    this.textarea.value = text;
    this.textarea.scrollTop = 0;
    this.renderGutter();
  }

  /** Line numbers, the lines with problems marked. */
  renderGutter() {
    const count = this.textarea.value.split("\n").length;
    const key = `${count}:${[...this.bad].join(",")}`;
    if (key === this.shown) return;
    this.shown = key;
    const lines = [];
    for (let n = 1; n <= count; n++) lines.push(h("span", { class: this.bad.has(n) ? "bad" : null }, n));
    this.gutter.replaceChildren(...lines);
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  clear() {
    this.bad = new Set();
    this.list.replaceChildren();
    this.warnings.replaceChildren();
    this.none.classList.remove("hidden");
    this.textarea.removeAttribute("aria-invalid");
    this.renderGutter();
  }

  /** Show a failed publication of bot `bot`: the flow's problems by line, or the API's
   * refusal (by its code). */
  showError(error, bot = null) {
    this.clear();
    const issues = error instanceof ApiError && error.code === "flow_invalid" && Array.isArray(error.detail)
      ? error.detail.filter((i) => i.line !== undefined) : [];
    if (!issues.length) {
      const text = codeText(error, { bot });
      this.list.replaceChildren(h("li", { class: "issue" }, h("span", {}, `Não foi possível salvar: ${text}`)));
      this.none.classList.add("hidden");
      return;
    }
    this.setIssues(issues, bot);
  }

  setIssues(issues, bot = null) {
    const ctx = { bot, source: this.value };
    this.bad = new Set(issues.map((i) => i.line));
    this.none.classList.add("hidden");
    this.textarea.setAttribute("aria-invalid", "true");
    this.list.replaceChildren(...issues.map((issue) => h("li", { class: "issue", dataset: { line: issue.line } },
      h("button", {
        type: "button", class: "link",
        "aria-label": `Ir para a linha ${issue.line}, coluna ${issue.column}`,
        onclick: () => this.goTo(issue.line, issue.column),
      }, `Linha ${issue.line}, coluna ${issue.column}`),
      h("span", {}, issueText(issue, ctx)))));
    this.renderGutter();
  }

  /** After saving: `headline` (e.g. "Versão 5 publicada.") and the warnings of publishing. */
  showWarnings(warnings, headline = null) {
    this.warnings.replaceChildren(
      headline ? h("p", { class: "notice ok" }, headline) : "",
      ...warnings.map((w) => h("p", { class: "notice warn" }, `Aviso: ${warningText(w)}`)));
    if (headline || warnings.length) this.none.classList.add("hidden");
  }

  /** Put the cursor at `line`:`column` (1-based) and scroll it into view. */
  goTo(line, column) {
    const lines = this.textarea.value.split("\n");
    const row = Math.min(Math.max(line, 1), lines.length) - 1;
    let offset = 0;
    for (let i = 0; i < row; i++) offset += lines[i].length + 1;
    offset += Math.min(Math.max(column, 1) - 1, lines[row].length);
    this.textarea.focus();
    this.textarea.setSelectionRange(offset, offset);
    const height = parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
    this.textarea.scrollTop = Math.max(0, (row - 3) * height);
  }

  /** Ctrl/Cmd+Enter in the editor calls `save`. */
  onSave(save) {
    this.textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); save(); }
    });
  }
}
