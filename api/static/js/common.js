// The screens' talk with the API: the JSON calls with bearer tokens (and the admin's sign-in
// they ask for), Server-Sent Events over fetch (so tokens never go in URLs), and the API's
// errors in pt-BR: by their `code` (CODES_PT), never by reading the English `detail`, and a 422
// item by its `type` (MESSAGES).
import { $, h } from "./dom.js";

// --- tokens ---------------------------------------------------------------------------------

const ADMIN_KEY = "transbordo.adminToken";
const AGENT_KEY = "transbordo.agentToken";

export const tokens = {
  admin: () => sessionStorage.getItem(ADMIN_KEY),
  setAdmin: (value) => sessionStorage.setItem(ADMIN_KEY, value),
  clearAdmin: () => sessionStorage.removeItem(ADMIN_KEY),
  agent: () => sessionStorage.getItem(AGENT_KEY),
  setAgent: (value) => sessionStorage.setItem(AGENT_KEY, value),
  clearAgent: () => sessionStorage.removeItem(AGENT_KEY),
};

/** An HTTP error of the API: `{detail, code, ...}` (api/errors.py); `code` says why, `extra`
 * holds the body's other keys (the existing name of a duplicate, the bots using a service). */
export class ApiError extends Error {
  constructor(status, detail, code = null, extra = {}) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.code = code;
    this.extra = extra;
  }
}

/** The `If-Match` header of an edit made on what the page read (`revision` or `version`):
 * the API refuses it with 412 `changed_since_read` when someone changed it since. */
export const ifMatch = (revision) => (revision === undefined || revision === null ? {} : { "If-Match": `"${revision}"` });

/** Call the JSON API. `token`: "admin", "agent", a literal token, or null (public).
 * `body` goes as JSON; `text` goes as it is, with `contentType` (a bot's YAML); `headers`
 * are added (e.g. `ifMatch(revision)`). */
export async function api(path, { method = "GET", body, text, contentType = "text/plain", token = "admin", raw = false, headers: more = {} } = {}) {
  const headers = { Accept: raw ? "*/*" : "application/json", ...more };
  const bearer = token === "admin" ? tokens.admin() : token === "agent" ? tokens.agent() : token;
  // signed out (e.g. "Sair" while a read was due): the server's answer, without asking it
  if (!bearer && token === "agent") throw new ApiError(401, "not signed in", "unauthorized", {});
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (text !== undefined) headers["Content-Type"] = contentType;
  const response = await fetch(path, {
    method,
    headers,
    body: text !== undefined ? text : body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && token === "admin") {
    tokens.clearAdmin();
    adminLogin({ again: true });
  }
  if (!response.ok) {
    let answer = {};
    try { answer = await response.json(); } catch { /* not JSON */ }
    const { detail, code, ...extra } = answer && typeof answer === "object" ? answer : {};
    throw new ApiError(response.status, detail ?? `HTTP ${response.status}`, code ?? null, extra);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

let loginAs = false;  // the supervisor screen: a supervisor agent's own token is accepted too

/** Ask for the admin token (with `supervisor`, or a supervisor's) once per browser session. */
export function adminLogin({ again = false, supervisor = loginAs } = {}) {
  loginAs = supervisor;
  if (tokens.admin()) return Promise.resolve(tokens.admin());
  let dialog = $("#admin-login");
  const who = supervisor ? "supervisor ou de administrador" : "administrador";
  if (!dialog) {
    dialog = h("dialog", { id: "admin-login", "aria-labelledby": "admin-login-title" },
      h("form", { method: "dialog" },
        h("header", {}, h("h2", { id: "admin-login-title" }, supervisor ? "Entrar como supervisor" : "Entrar como administrador")),
        h("div", { class: "body" },
          h("p", { class: "muted" }, supervisor ? "Informe o seu token de atendente supervisor (ou o de administrador, TRANSBORDO_ADMIN_TOKEN)."
            : "Informe o token de administrador (TRANSBORDO_ADMIN_TOKEN).", " Ele fica guardado só nesta aba do navegador."),
          h("div", { class: "form-error", role: "alert" }),
          h("div", { class: "field" },
            h("label", { for: "admin-token" }, `Token de ${who}`),
            h("input", { id: "admin-token", name: "token", type: "password", autocomplete: "off", required: true }))),
        h("footer", {}, h("button", { class: "primary", type: "submit" }, "Entrar"))));
    document.body.append(dialog);
  }
  $(".form-error", dialog).textContent = again ? "Token inválido ou ausente. Tente de novo." : "";
  return new Promise((resolve) => {
    const form = $("form", dialog);
    form.onsubmit = async (event) => {
      event.preventDefault();
      const value = form.token.value.trim();
      const probe = await fetch(supervisor ? "/api/supervisor/me" : "/api/omni/services", { headers: { Authorization: `Bearer ${value}` } });
      if (!probe.ok) {
        $(".form-error", dialog).textContent = probe.status === 403 ? CODES_PT.not_a_supervisor() : "Token recusado pelo servidor.";
        return;
      }
      tokens.setAdmin(value);
      dialog.close();
      resolve(value);
      window.dispatchEvent(new Event("transbordo:admin"));
    };
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    if (!dialog.open) dialog.showModal();
  });
}

/** Wire the top bar's "Sair" button for admin pages. */
export function adminSession() {
  const slot = $("#session");
  if (!slot) return;
  slot.replaceChildren(h("button", {
    class: "small", type: "button",
    onclick: () => { tokens.clearAdmin(); location.reload(); },
  }, "Sair"));
}

// --- Server-Sent Events over fetch ----------------------------------------------------------

const RETRY_AFTER_MAX_MS = 60_000;

/**
 * Read an SSE endpoint with fetch + ReadableStream (EventSource cannot send headers).
 * Calls onEvent({event, data, id}) per event; reconnects with Last-Event-ID until `signal`
 * aborts, not sooner than a refusal's Retry-After (a 429 or 503; bounded). Returns a promise
 * that resolves when stopped. onError(err) is told about failures.
 */
export async function readSSE(url, { token, onEvent, onOpen, onError, signal, lastEventId } = {}) {
  let delay = 500;
  while (!signal?.aborted) {
    let refusedFor = 0; // a refusal's Retry-After, in ms
    try {
      const headers = { Accept: "text/event-stream" };
      if (token) headers.Authorization = `Bearer ${token}`;
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch(url, { headers, signal, cache: "no-store" });
      if (!response.ok || !response.body) {
        const seconds = Number(response.headers.get("Retry-After")); // a date or none: NaN, 0
        if (seconds > 0) refusedFor = Math.min(seconds * 1000, RETRY_AFTER_MAX_MS);
        throw new ApiError(response.status, `stream: HTTP ${response.status}`);
      }
      onOpen?.();
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const chunk = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const parsed = parseEvent(chunk);
          if (parsed.id) lastEventId = parsed.id;
          if (parsed.retry) delay = parsed.retry;
          if (parsed.data !== null) {
            if (onEvent(parsed) === false) return;
          }
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (onError?.(error) === false) return;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(delay, refusedFor)));
    delay = Math.min(delay * 2, 10000);
  }
}

function parseEvent(chunk) {
  const event = { event: "message", data: null, id: null, retry: null };
  const data = [];
  for (const line of chunk.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "event") event.event = value;
    else if (field === "id") event.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) event.retry = Number(value);
  }
  if (data.length) event.data = data.join("\n");
  return event;
}

// --- a 422 item in pt-BR --------------------------------------------------------------------

const MESSAGES = {
  missing: () => "Campo obrigatório.",
  string_too_short: (c) => (c.min_length === 1 ? "Campo obrigatório." : `Use pelo menos ${c.min_length} caracteres.`),
  string_too_long: (c) => `Use no máximo ${c.max_length} caracteres.`,
  less_than_equal: (c) => `Deve ser no máximo ${c.le}.`,
  greater_than: (c) => `Deve ser maior que ${c.gt}.`,
  greater_than_equal: (c) => `Deve ser no mínimo ${c.ge}.`,
  int_type: () => "Informe um número inteiro.",
  int_parsing: () => "Informe um número inteiro.",
  too_long: (c) => `No máximo ${c.max_length} itens.`,
  string_pattern_mismatch: () => "Formato inválido.",
  // omni/queue_cards.py: an enabled carousel's card image (the web chat shows only https images)
  url_not_https: () => "Use um endereço https:// (o chat web só mostra imagens de endereços https).",
  // omni/field_errors.py `FieldCode`: the Omni forms' own rules (services, agents, quick replies)
  url_invalid: () => "Use um endereço completo começando com http:// ou https:// (por exemplo, https://exemplo.com.br).",
  url_required: () => "Informe a URL para habilitar o webhook.",
  webhook_secret: (c) => `O segredo de assinatura deve ser “whsec_” seguido de, no mínimo, ${c.min_bytes} bytes codificados em base64. Deixe em branco para gerar um.`,
  blank: () => "Campo obrigatório: não pode ficar só com espaços.",
  not_null: () => "Campo obrigatório: informe um valor.",
  repeated: (c) => `“${c.value}” aparece mais de uma vez (igual ou só com maiúsculas diferentes).`,
  same_code: (c) => `“${c.first}” e “${c.code}” são o mesmo código (só mudam maiúsculas, acentos ou espaços).`,
  cards_required: () => "Adicione pelo menos um cartão para notificar o usuário na fila de espera.",
  button_action: () => "Preencha a resposta ou o link do botão (um dos dois).",
  // omni/names.py `unusable`: a new service or agent name (an emoji ZWJ sequence is accepted)
  invalid_name: () => "O nome não pode ter caracteres invisíveis (espaço de largura zero, tabulação, quebra de linha) e precisa de ao menos uma letra, número ou símbolo.",
  // api/edge.py: a broken character (half of an emoji) in any text of a JSON body
  string_unicode: () => "O texto tem um caractere inválido (por exemplo, metade de um emoji): apague-o e digite de novo.",
};

/** A pydantic error in pt-BR where we know the type, else its own message. */
export function errorText(error) {
  if (error.type === "string_pattern_mismatch" && (error.loc || []).at(-1) === "extension") {
    return "Ramal deve ter 3 dígitos."; // the same words as the transfer form
  }
  const make = MESSAGES[error.type];
  if (make) return make(error.ctx || {});
  return String(error.msg || "").replace(/^Value error, /, "");
}

// --- error codes in pt-BR ---------------------------------------------------------------------

const named = (value, withName, without) => (value ? withName(value) : without);
/** Why a name the admin typed ("cobranca") is taken by another ("Cobrança"): omni/names.py. */
const sameName = (c) => (c.existing && c.name && c.existing !== c.name
  ? " Nomes que só diferem em maiúsculas, acentos ou espaços são o mesmo nome." : "");

/**
 * Every `code` of an API error (api/errors.py: ErrorCode, omni/errors.py: OmniCode,
 * workflows/refusals.py: Refusal), said in pt-BR. `c` holds values the page knows (the form's
 * name, extension, bot, the agent's capacity): the API's English `detail` is never read.
 */
export const CODES_PT = {
  // the API's own
  bad_request: () => "Pedido inválido.",
  unauthorized: () => "Token inválido ou ausente.",
  forbidden: () => "Você não tem permissão para isso.",
  not_a_supervisor: () => "Este atendente não é supervisor: peça ao administrador.",
  outside_supervisor_scope: () => "Fora dos serviços que você supervisiona.",
  not_found: () => "Não encontrado: talvez tenha sido excluído.",
  conflict: () => "Não foi possível: o estado mudou. Atualize a página e tente de novo.",
  changed_since_read: () => "Outra pessoa alterou isto depois que você abriu a página. Nada foi salvo: recarregue a página (F5) para ver a versão atual e refaça a sua alteração.",
  validation_error: () => "Há campos inválidos.",
  flow_invalid: () => "O fluxo YAML tem problemas.",
  no_web_chat: () => "Este bot não atende pelo chat web.",
  unknown_bot: (c) => named(c.bot, (b) => `Não há bot publicado chamado “${b}”.`, "Este bot não está publicado."),
  unknown_conversation: () => "Conversa não encontrada.",
  not_with_human_service: () => "Esta conversa não está mais com atendimento humano.",
  nothing_waiting: () => "Nenhuma conversa aguardando nas suas filas.",
  service_gone: () => "O serviço desta conversa foi excluído.",
  message_rejected: () => "A mensagem foi recusada. Tente de novo.",
  payload_too_large: () => "O conteúdo enviado é grande demais.",
  rate_limited: () => "Muitas solicitações em pouco tempo. Aguarde um instante e tente de novo.",
  too_many_sessions: () => "Muitas conversas novas foram abertas a partir desta conexão de internet em pouco tempo. Aguarde alguns minutos e tente de novo.",
  attachment_type: () => "Tipo de arquivo não aceito: envie imagem (JPEG, PNG, GIF, WebP), PDF ou áudio.",
  attachment_too_large: () => "O arquivo é grande demais.",
  attachment_empty: () => "O arquivo está vazio.",
  attachment_pending: () => "O arquivo ainda está sendo baixado.",
  attachment_unavailable: () => "Não foi possível baixar este arquivo do canal.",
  overloaded: () => "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos.",
  temporal_unavailable: () => "O sistema está temporariamente indisponível. Tente de novo em alguns segundos.",
  temporal_refused: () => "O sistema recusou a ação por um problema de configuração. Avise o suporte.",
  conversation_ending: () => "A conversa anterior ainda está sendo encerrada. Envie a mensagem de novo em alguns segundos.",
  quick_reply_failed: () => "Não foi possível montar esta resposta rápida para esta conversa: o modelo dela tem um erro (corrija em Respostas rápidas).",
  http_error: () => "Erro inesperado do servidor.",
  // the Omni store
  invalid_reference: () => "Serviço inexistente (ou o próprio serviço).",
  duplicate_service_name: (c) => named(c.existing || c.name, (n) => `Já existe um serviço chamado “${n}”.${sameName(c)}`, "Já existe um serviço com este nome."),
  duplicate_extension: (c) => named(c.extension, (e) => `O ramal ${e} já é usado por outro serviço.`, "Este ramal já é usado por outro serviço."),
  duplicate_service: () => "Já existe um serviço com este nome ou ramal.",
  service_in_use: (c) => `O fluxo publicado ${(c.bots || []).length > 1 ? "dos bots" : "do bot"} ${(c.bots || []).join(", ")} usa o serviço “${c.service || c.name || ""}” no bloco Humano: renomeá-lo deixaria esse transbordo indisponível até o fluxo ser publicado com o novo nome.`,
  service_busy: () => "O serviço tem conversas aguardando ou em atendimento: finalize-as ou transfira-as antes de excluí-lo.",
  duplicate_integration: () => "Este bot já tem uma integração com este serviço. Gere uma nova chave na lista.",
  integration_revoked: () => "Esta integração foi revogada: crie uma nova.",
  duplicate_agent_name: (c) => named(c.existing || c.name, (n) => `Já existe um atendente chamado “${n}”.${sameName(c)}`, "Já existe um atendente com este nome."),
  agent_busy: () => "O atendente tem conversas em atendimento: finalize-as ou transfira-as antes de excluí-lo.",
  duplicate_quick_reply: (c) => named(c.shortcut, (s) => `Já existe uma resposta rápida ${s} neste escopo.`, "Já existe uma resposta rápida com este atalho."),
  // a conversation's refusals
  conversation_ended: () => "A conversa já terminou.",
  invalid_message: () => "Mensagem inválida (vazia ou longa demais).",
  not_waiting: () => "Esta conversa não está mais aguardando.",
  taken: () => "Outro atendente já pegou esta conversa.",
  not_your_service: () => "Esta conversa não é de um dos seus serviços.",
  not_available: () => "Você está pausado ou offline: fique Disponível para atender.",
  at_capacity: (c) => named(c.capacity, (n) => `Você já está com ${n} de ${n} atendimentos (sua capacidade).`, "Você já está na sua capacidade de atendimentos."),
  service_at_capacity: (c) => named(c.service, (n) => `Você já está no limite de atendimentos simultâneos do serviço “${n}”: finalize um deles para pegar outro.`, "Você já está no limite de atendimentos simultâneos deste serviço: finalize um deles para pegar outro."),
  not_in_service: () => "Esta conversa não está com um atendente.",
  not_your_conversation: () => "Esta conversa está com outro atendente.",
  no_such_service: () => "Não existe serviço com esse nome ou ramal.",
  transfer_not_allowed: () => "A transferência para esse serviço não é permitida.",
  wrapup_required: () => "Escolha uma tabulação da lista do serviço para finalizar.",
  no_such_agent: () => "Não existe esse atendente.",
};

/** An error in pt-BR by its code; `ctx`: values the page knows (see CODES_PT). */
export function codeText(error, ctx = {}) {
  const say = error instanceof ApiError ? CODES_PT[error.code] : null;
  if (say) return say({ ...ctx, ...error.extra });
  if (error instanceof ApiError) return `Erro ${error.status}.`;
  return String(error?.message ?? error);
}
