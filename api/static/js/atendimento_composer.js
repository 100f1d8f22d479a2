// Tela de Atendimento: the message box's length. The limit comes with the page: the server's
// MAX_TEXT_LENGTH, written into the box's data-max when api/routes/pages.py renders it, so a
// limit raised on the server since is learned at the next reload (a lowered one at once, from
// the server's refusal: `refusal`). Near it the box counts, over it the box says so in pt-BR
// and the reply is not sent (the text stays), and a server refusal of a text too long says the
// same.
import { $, ApiError } from "./common.js";
import { reason } from "./atendimento_state.js";

const NEAR = 0.9; // the count shows from this share of the limit on

/** Characters as the server counts them: code points (an emoji is one, not two). */
export const length = (text) => [...text].length;

const limit = () => Number($("#reply-text").dataset.max) || 4096;

const overText = (max, count) => `A mensagem passa do limite de ${max} caracteres (você escreveu ${count}).`;

/** Draw the count under the box for what it holds (as sent: trimmed); true if over the limit. */
export function showLength() {
  const box = $("#reply-text");
  const count = length(box.value.trim());
  const max = limit();
  const over = count > max;
  const line = $("#reply-count");
  line.textContent = over ? overText(max, count) : count >= max * NEAR ? `${count} de ${max} caracteres` : "";
  line.classList.toggle("over", over);
  if (over) box.setAttribute("aria-invalid", "true");
  else box.removeAttribute("aria-invalid");
  return over;
}

/** Why the server refused `text`: a text over its limit said with both lengths (and that
 * limit kept for the box's count from now on), anything else as every refusal is said. */
export function refusal(error, text) {
  const issues = error instanceof ApiError && error.status === 422 && Array.isArray(error.detail) ? error.detail : [];
  const long = issues.find((i) => i?.type === "string_too_long" && i.loc?.at(-1) === "text");
  const max = Number(long?.ctx?.max_length);
  if (!max) return reason(error);
  $("#reply-text").dataset.max = String(max);
  return overText(max, length(text));
}
