// The YAML editor of a bot's flow (Bots → Criar novo bot, and a bot's page → YAML): line
// numbers, the 422 problems `[{line, column, message}]` listed next to it with their lines
// marked, and publishing with PUT /api/bots/{bot}. Warnings of publishing are said in pt-BR.
import { $, ApiError, api, codeText, h, ifMatch } from "./common.js";

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

/** A flow problem in pt-BR where it has a code the page says; else the loader's own words,
 * written for the YAML's author (they name the block and the key). */
function issueText(issue, ctx) {
  if (issue.code === "bot_name_mismatch") {
    const fileBot = ctx.source?.match(BOT_LINE)?.[3];
    return `O arquivo é do bot “${fileBot ?? "?"}”, não “${ctx.bot ?? "?"}”: a linha “bot:” deve ser igual ao Nome do bot.`;
  }
  if (issue.code === "yaml_not_editable") return "O YAML publicado não pode ser editado por esta tela: corrija-o na aba YAML.";
  return String(issue.message);
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
