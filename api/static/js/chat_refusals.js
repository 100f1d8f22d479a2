// Web chat: what the status line says when the server refuses (or never answers) a session, a
// message or a file: a 429 told as the limit it is (the connection's, the bot's, the contact's
// own pace), a refused message by its `code`.

/** The server gave this browser no session: the message was not sent; `message` says why. */
export class NoSession extends Error {}

/** Why the server refused a session or a message, for the status line. */
export function refusalOf(response, answer) {
  return response.status === 429 ? limitRefusal(response, answer) : sendRefusal(answer.code, response.status);
}

/** A 429, told as what it is (api/errors.py: `code`, and `limit`, the rule's name): the limits
 * per client address are shared by everyone on the same internet connection, the bot's by
 * everyone talking to it; only the contact's is this customer's own pace (`own`: a message's
 * or a file's words). With when to try again (`Retry-After`) where the wait may be long. */
export function limitRefusal(response, answer, own = "Muitas mensagens seguidas. Aguarde um instante.") {
  const seconds = Number(response.headers.get("Retry-After")); // a date or none: NaN
  const minutes = seconds > 0 ? Math.ceil(seconds / 60) : 0;
  const when = !minutes ? "em alguns minutos" : minutes === 1 ? "em 1 minuto" : `em ${minutes} minutos`;
  if (answer.code === "too_many_sessions") {
    return `Muitas conversas novas foram abertas a partir da sua conexão de internet em pouco tempo. Tente novamente ${when}.`;
  }
  if (answer.limit === "messages per bot" || answer.limit === "web messages per bot") return "O atendimento está muito movimentado agora. Tente novamente em instantes.";
  if (answer.limit === "messages per contact") return own;
  if (answer.limit === "messages per address") {
    return `Muitas mensagens enviadas a partir da sua conexão de internet em pouco tempo. Tente novamente ${when}.`;
  }
  if (answer.limit === "requests per address") {
    return `Muitas solicitações a partir da sua conexão de internet. Tente novamente ${when}.`;
  }
  return `Muitas solicitações em pouco tempo. Tente novamente ${when}.`;
}

/** Why a request that never got an answer failed, for the status line. */
export function unanswered(error) {
  return error instanceof NoSession ? error.message : "Sem conexão. Tente de novo.";
}

/** A refusal other than a 429, by its `code` (api/errors.py), else by its HTTP status. */
function sendRefusal(code, httpStatus) {
  if (code === "unknown_bot" || code === "no_web_chat") return "Este bot não atende pelo chat web.";
  if (code === "invalid_message" || code === "validation_error") return "Mensagem inválida (vazia ou longa demais).";
  if (code === "payload_too_large") return "Mensagem grande demais.";
  if (httpStatus === 401) return "Sessão expirada. Envie de novo.";
  return `Não foi possível enviar (${httpStatus}). Tente de novo.`;
}
