// Web chat: the message box. A textarea that grows with its text up to a few lines; Enter
// sends, Shift+Enter breaks the line (as WhatsApp Web), so a pasted text keeps its line breaks.
// Its limit is the server's (MAX_TEXT_LENGTH, the box's data-max written by api/routes/pages.py):
// over it the page says so before sending and keeps the text, instead of cutting a paste short.
import { $ } from "./dom.js";

/** Characters as the server counts them: code points (an emoji is one, not two). */
const length = (text) => [...text].length;

/** Wire the box: Enter sends, the box fits its text and says when it is over the limit. */
export function messageBox() {
  const box = $("#text");
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    box.form.requestSubmit();
  });
  box.addEventListener("input", () => { fit(box); overLimit(); });
}

/** Put `text` in the box (a failed send back, or nothing once sent), sized to it. */
export function setBox(text) {
  const box = $("#text");
  box.value = text;
  fit(box);
  overLimit();
}

/** True when the box holds more than the server takes (as sent: trimmed), and then said so
 * under it; the text stays for the customer to shorten. */
export function overLimit() {
  const box = $("#text");
  const max = Number(box.dataset.max) || 4096;
  const over = length(box.value.trim()) > max;
  $("#text-limit").textContent = over ? `A mensagem passa do limite de ${max} caracteres.` : "";
  if (over) box.setAttribute("aria-invalid", "true");
  else box.removeAttribute("aria-invalid");
  return over;
}

/** The box's height follows its lines; the style sheet caps it (then it scrolls). */
function fit(box) {
  box.style.height = "auto";
  box.style.height = `${box.scrollHeight + box.offsetHeight - box.clientHeight}px`;
}
