// Attachments on the screens (web chat, agent screen): a transcript entry whose data carries
// {id, name, type, size} is shown inline — an image, an audio player, a link to the PDF. The
// file is fetched with the page's bearer token (a plain <img src> could not send it) and shown
// through a blob: URL. A channel's media still coming (409 attachment_pending) is tried again.
import { h } from "./dom.js";
import { CODES_PT } from "./common.js";

const RETRY_MS = 3000;
const RETRIES = 20;
const loaded = new Map(); // attachment id → blob: URL (a transcript drawn again fetches nothing)

export const ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf,audio/*";

/** The pt-BR size of a file. */
export function sizeText(bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(".", ",")} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** The element of an attachment; `download(ref)` resolves to the fetch Response of its bytes. */
export function attachmentView(ref, download) {
  const kind = ref.type.startsWith("image/") ? "image" : ref.type.startsWith("audio/") ? "audio" : "pdf";
  const label = `${ref.name}${ref.size ? ` (${sizeText(ref.size)})` : ""}`;
  const box = h("span", { class: `attachment ${kind}`, dataset: { attachment: ref.id } },
    h("span", { class: "muted" }, `Anexo ${label} — carregando…`));
  if (loaded.has(ref.id)) shown(box, ref, kind, label, loaded.get(ref.id));
  else load(box, ref, kind, label, download, 0);
  return box;
}

async function load(box, ref, kind, label, download, attempt) {
  let response;
  try {
    response = await download(ref);
  } catch {
    box.replaceChildren(h("span", { class: "muted" }, `Anexo ${label} — sem conexão`));
    return;
  }
  if (response.status === 409 && attempt < RETRIES) {
    const answer = await response.json().catch(() => ({}));
    if (answer.code === "attachment_pending") {
      box.replaceChildren(h("span", { class: "muted" }, `Anexo ${label} — chegando…`));
      setTimeout(() => load(box, ref, kind, label, download, attempt + 1), RETRY_MS);
      return;
    }
    const said = CODES_PT[answer.code]?.() || "indisponível";
    box.replaceChildren(h("span", { class: "muted" }, `Anexo ${label} — ${said}`));
    return;
  }
  if (!response.ok) {
    box.replaceChildren(h("span", { class: "muted" }, `Anexo ${label} — indisponível`));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  loaded.set(ref.id, url);
  shown(box, ref, kind, label, url);
}

function shown(box, ref, kind, label, url) {
  if (kind === "image") {
    box.replaceChildren(h("a", { href: url, target: "_blank", rel: "noopener", title: `Abrir ${ref.name}` },
      h("img", { src: url, alt: ref.name })));
  } else if (kind === "audio") {
    box.replaceChildren(h("audio", { controls: true, src: url, "aria-label": `Áudio ${ref.name}` }),
      h("span", { class: "muted" }, ` ${label}`));
  } else {
    box.replaceChildren(h("a", { href: url, target: "_blank", rel: "noopener", download: ref.name },
      `PDF · ${label}`));
  }
}

/** Why an upload was refused, in pt-BR, by the answer's code (its English detail is not read). */
export function uploadRefusal(status, answer) {
  if (answer?.code === "attachment_too_large" && answer.max_bytes) return `O arquivo passa do limite de ${sizeText(answer.max_bytes).replace(",0 ", " ")}.`;
  if (answer?.code?.startsWith("attachment_") && CODES_PT[answer.code]) return CODES_PT[answer.code]();
  if (status === 413) return "O arquivo é grande demais.";
  if (status === 429) return "Muitos envios seguidos. Aguarde um instante.";
  if (status === 403) return "Você não pode enviar arquivos nesta conversa.";
  return `Não foi possível enviar o arquivo (${status}).`;
}

/** Call `send()` at most once every `everyMs` while someone types (a typing signal);
 * `reset()` after a message is sent, so the next keystroke is signalled at once. */
export function throttled(send, everyMs = 3000) {
  let last = 0;
  const signal = () => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    send().catch(() => null);
  };
  signal.reset = () => { last = 0; };
  return signal;
}

/** Show `text` in `element` for a few seconds (a typing indicator); again: the time restarts. */
export function flash(element, text, ms = 4000) {
  element.textContent = text;
  clearTimeout(element._typingTimer);
  element._typingTimer = setTimeout(() => { element.textContent = ""; }, ms);
}
