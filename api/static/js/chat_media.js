// Web chat: sending a file (POST /api/bots/{bot}/attachments, the file as the body), showing
// the attachments of the transcript, the customer's typing signal and the agent's typing.
import { $ } from "./dom.js";
import { ACCEPT, attachmentView, flash, throttled, uploadRefusal } from "./attachments.js";
import { limitRefusal, unanswered } from "./chat_refusals.js";

/** A file counts like a message (docs/limits.md): over the contact's own pace, this is said. */
const FILES_TOO_FAST = "Muitos envios seguidos. Aguarde um instante.";

/** Wire the chat's file button and typing; `ctx`: {bot, authorized, conversation(), chat(), onTurn,
 * status}; `chat()` counts the "Nova conversa" clicks, so an upload's late answer stays out of a newer chat. */
export function chatMedia(ctx) {
  const input = $("#file");
  input.accept = ACCEPT;
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    const sentIn = ctx.chat();
    ctx.status(`enviando ${file.name}…`);
    const query = new URLSearchParams({ name: file.name, message_id: crypto.randomUUID() });
    try {
      const response = await ctx.authorized(`/api/bots/${encodeURIComponent(ctx.bot)}/attachments?${query}`, {
        method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file,
      });
      const answer = await response.json().catch(() => ({}));
      if (sentIn !== ctx.chat()) return; // "Nova conversa" meanwhile: not this chat's
      if (response.status === 429) { ctx.status(limitRefusal(response, answer, FILES_TOO_FAST)); return; }
      if (!response.ok) { ctx.status(uploadRefusal(response.status, answer)); return; }
      ctx.status("");
      ctx.onTurn(answer);
    } catch (error) {
      if (sentIn !== ctx.chat()) return;
      ctx.status(unanswered(error));
    }
  });
  const typing = throttled(async () => {
    const id = ctx.conversation();
    if (id) await ctx.authorized(`/api/conversations/${id}/typing`, { method: "POST" });
  });
  $("#text").addEventListener("input", typing);
  $("#composer").addEventListener("submit", typing.reset);
}

/** The inline view of a transcript entry's attachment, or null. */
export function chatAttachment(message, ctx) {
  const ref = message.data?.attachment;
  if (!ref) return null;
  const id = ctx.conversation();
  return attachmentView(ref, () => ctx.authorized(`/api/conversations/${id}/attachments/${ref.id}`));
}

/** The agent is typing (an SSE event `typing`). */
export function agentTyping() {
  flash($("#typing-line"), "Atendente digitando…");
}

/** The agent's message came: the typing that announced it is over (not shown under it for the
 * rest of its 4 s; a new `typing` event shows it again). */
export function agentSpoke() {
  const line = $("#typing-line");
  clearTimeout(line._typingTimer);
  line.textContent = "";
}
