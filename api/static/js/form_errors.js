// A form's errors next to its fields: an API refusal's 422 items by their `loc`, a coded error
// at the field it is about, the rest on the form's top line (marked for assistive technology:
// aria-invalid, aria-describedby); and a form's save, which clears and shows them.
import { $, $$, h } from "./dom.js";
import { ApiError, codeText, errorText } from "./common.js";

/** Clear the marks left by showErrors. */
export function clearErrors(form) {
  for (const node of $$(".field-error", form)) node.textContent = "";
  for (const node of $$("[aria-invalid]", form)) {
    node.removeAttribute("aria-invalid");
    const kept = (node.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.startsWith("field-error-"));
    if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
    else node.removeAttribute("aria-describedby");
  }
  const top = $(".form-error", form);
  if (top) top.textContent = "";
}

/**
 * Put each error of an API answer next to its field. 422 details are matched by `loc` against
 * elements with data-field="a.b.0.c" (the longest matching prefix wins); an error with one
 * `code` goes next to the field CODE_FIELD names; the rest go on top. `ctx`: the form's own
 * values the pt-BR text may name (see CODES_PT).
 */
export function showErrors(form, error, ctx = {}) {
  clearErrors(form);
  const top = $(".form-error", form);
  const rest = [];
  const detail = error instanceof ApiError ? error.detail : Array.isArray(error) ? error : String(error);
  if (Array.isArray(detail)) {
    for (let item of detail) {
      let path = (item.loc || []).filter((part) => part !== "body").map(String);
      if (item.line !== undefined) { // a flow error: "schedule.holidays[0].date: bad date" at line:column
        const m = String(item.message).match(/^([\w.[\]-]+): (.*)$/s);
        item = { ...item, msg: `${item.message} (linha ${item.line}, coluna ${item.column} do YAML)` };
        path = m ? m[1].replace(/\[(\d+)\]/g, ".$1").split(".") : [];
      }
      let target = null;
      for (let n = path.length; n > 0 && !target; n--) target = form.querySelector(`[data-field="${path.slice(0, n).join(".")}"]`);
      if (!target) { rest.push(item.line !== undefined ? item.msg : `${path.join(".")}: ${errorText(item)}`); continue; }
      markField(target, errorText(item));
      if (hidden(target, form)) rest.push(`${fieldName(target, path)}: ${errorText(item)}`);
    }
  } else {
    const text = codeText(error, ctx);
    const field = error instanceof ApiError ? CODE_FIELD[error.code] : null;
    const target = field ? form.querySelector(`[data-field="${field}"]`) : null;
    if (target) markField(target, text);
    if (!target || hidden(target, form)) rest.push(text);
  }
  if (top) top.textContent = rest.join(" · ");
  const first = $$("[aria-invalid='true']", form).find((node) => !hidden(node, form));
  first?.focus();
  if (!first && top) top.scrollIntoView({ block: "nearest" });
}

/** A field the form does not show now (inside a section switched off, such as the carousel of
 * a service whose "Notificar usuário" is off): its error is said on top too, never silent. */
function hidden(target, form) {
  return form.getClientRects().length > 0 && target.getClientRects().length === 0;
}

/** The field's label as the form shows it ("Cartão 1 › URL da imagem (opcional)"), else its
 * path. */
function fieldName(target, path) {
  const label = $("label", target)?.textContent || (target.labels?.[0]?.textContent ?? "");
  const group = target.parentElement?.closest("section[aria-label]")?.getAttribute("aria-label");
  const name = [group, label].filter(Boolean).join(" › ");
  return name || path.join(".");
}

let errorIds = 0;
/** Mark the field invalid and link its error text to it (aria-describedby). */
function markField(target, text) {
  const control = target.matches("input,select,textarea") ? target : $("input,select,textarea", target);
  const slot = errorSlot(target);
  slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
  if (!control) return;
  control.setAttribute("aria-invalid", "true");
  if (!slot.id) slot.id = `field-error-${++errorIds}`;
  const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(slot.id)) control.setAttribute("aria-describedby", [...described, slot.id].join(" "));
}

function errorSlot(target) {
  const field = target.closest(".field, fieldset, .card-editor") || target.parentElement;
  let slot = [...field.children].find((c) => c.classList.contains("field-error"));
  if (!slot) {
    slot = h("div", { class: "field-error", role: "alert" });
    field.append(slot);
  }
  return slot;
}

/** The data-field an error code is about, in the forms that have it. */
const CODE_FIELD = {
  duplicate_service_name: "name",
  duplicate_extension: "extension",
  duplicate_agent_name: "name",
  duplicate_quick_reply: "shortcut",
};

// --- a form's save ----------------------------------------------------------------------------

/**
 * Send a form's change: the errors of its last try are cleared first (a save that succeeds, or
 * that the admin cancels half-way, leaves no old error behind), its submit button is off while
 * `send` runs, and a refusal goes next to its fields (showErrors; `ctx` as there). `say(item)`:
 * this form's own pt-BR words for a 422 item (an expected format), or null for the shared ones.
 * Resolves to what `send` returned; undefined when it was refused.
 */
export async function submitForm(form, send, { ctx = {}, say = null } = {}) {
  clearErrors(form);
  const submit = $("button[type=submit]", form);
  if (submit) submit.disabled = true;
  try {
    return await send();
  } catch (error) {
    let shown = error;
    if (say && error instanceof ApiError && Array.isArray(error.detail)) {
      const detail = error.detail.map((item) => {
        const text = say(item);
        return text ? { ...item, type: "said_by_form", msg: text } : item;
      });
      shown = new ApiError(error.status, detail, error.code, error.extra);
    }
    showErrors(form, shown, ctx);
    return undefined;
  } finally {
    if (submit) submit.disabled = false;
  }
}
