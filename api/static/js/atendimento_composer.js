// Tela de Atendimento: the message box — its drafts and its length.
//
// One draft per conversation: the box holds the text of the conversation on screen only; going
// to another conversation keeps the text with the one it was typed in and shows the other's
// (atendimento_view.js `select`), so Enter never sends it to the wrong customer. Drafts are
// kept in the tab's sessionStorage by conversation id (a reload finds them; it dies with the
// tab, which suits a shared computer), gone once sent, when the conversation leaves the screen
// (shown to the agent as text, never in a box: atendimento_view.js `leftScreen`) or at "Sair".
//
// The limit comes with the page: the server's MAX_TEXT_LENGTH, written into the box's data-max
// when api/routes/pages.py renders it, so a limit raised on the server since is learned at the
// next reload (a lowered one at once, from the server's refusal: `refusal`). Near it the box
// counts, over it the box says so in pt-BR and the reply is not sent (the text stays), and a
// server refusal of a text too long says the same.
import { $ } from "./dom.js";
import { ApiError } from "./common.js";
import { reason, state } from "./atendimento_state.js";

const DRAFT = "transbordo.atendimento.draft."; // + the conversation's id
const unstored = new Map(); // id → text, where sessionStorage refuses (full, or disabled)

function storeDraft(id, text) {
  unstored.delete(id);
  try {
    if (text.trim()) sessionStorage.setItem(DRAFT + id, text);
    else sessionStorage.removeItem(DRAFT + id);
  } catch {
    if (text.trim()) unstored.set(id, text);
  }
}

/** The conversation's draft ("" when none). */
export function draftOf(id) {
  try {
    return unstored.get(id) ?? sessionStorage.getItem(DRAFT + id) ?? "";
  } catch {
    return unstored.get(id) ?? "";
  }
}

/** The box's text, as the draft of the conversation on screen (not of one that left it). */
export function keepDraft() {
  const conversation = state.conversations.get(state.selected);
  if (conversation && !conversation.closed) storeDraft(conversation.id, $("#reply-text").value);
}

/** The conversation leaves the screen: its draft is forgotten here, and returned. */
export function takeDraft(id) {
  const text = draftOf(id);
  storeDraft(id, "");
  return text.trim();
}

/** Forget the drafts of every conversation but `kept` (ids): those the agent no longer has,
 * found after a reload, or all of them at "Sair". */
export function forgetDrafts(kept = new Set()) {
  try {
    const keys = Array.from({ length: sessionStorage.length }, (_, i) => sessionStorage.key(i));
    for (const key of keys) if (key?.startsWith(DRAFT) && !kept.has(key.slice(DRAFT.length))) sessionStorage.removeItem(key);
  } catch { /* nothing stored */ }
  for (const id of unstored.keys()) if (!kept.has(id)) unstored.delete(id);
}

const NEAR = 0.9; // the count shows from this share of the limit on

/** Characters as the server counts them: code points (an emoji is one, not two). */
export const length = (text) => [...text].length;

const limit = () => Number($("#reply-text").dataset.max) || 4096;

const overText = (max, count) => `A mensagem passa do limite de ${max} caracteres (você escreveu ${count}).`;

/** Draw the count under the box for what it holds (as sent: trimmed); true if over the limit.
 * Called whenever the box changes (typed, sent, a failed text back): its draft follows too. */
export function showLength() {
  keepDraft();
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
