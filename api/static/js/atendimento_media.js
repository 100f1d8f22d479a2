// Tela de Atendimento: the agent's file button (POST /api/agent/conversations/{id}/attachments,
// the file as the body), attachments shown inline, the agent's typing signal and the
// customer's typing (an SSE event `typing` of the agent stream).
import { $ } from "./dom.js";
import { tokens } from "./common.js";
import { ACCEPT, attachmentView, flash, throttled, uploadRefusal } from "./attachments.js";
import { errorOnRender } from "./atendimento_unsent.js";

/** Wire the file button and typing; `ctx`: {selected(), onMessage(id, message)}. */
export function deskMedia(ctx) {
  const input = $("#reply-file");
  input.accept = ACCEPT;
  input.addEventListener("change", async () => {
    const file = input.files[0];
    const id = ctx.selected();
    input.value = "";
    if (!file || !id) return;
    errorOnRender(); // an older error goes; a failed reply's reason stays while the reply waits
    const query = new URLSearchParams({ name: file.name });
    try {
      const response = await fetch(`/api/agent/conversations/${encodeURIComponent(id)}/attachments?${query}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens.agent()}`, "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) { $("#conv-error").textContent = uploadRefusal(response.status, answer); return; }
      ctx.onMessage(id, answer);
    } catch {
      $("#conv-error").textContent = "Sem conexão. Tente de novo.";
    }
  });
  const typing = throttled(async () => {
    const id = ctx.selected();
    if (!id) return;
    await fetch(`/api/agent/conversations/${encodeURIComponent(id)}/typing`, {
      method: "POST", headers: { Authorization: `Bearer ${tokens.agent()}` },
    });
  });
  $("#reply-text").addEventListener("input", typing);
  $("#reply-form").addEventListener("submit", typing.reset);
}

/** The inline view of a transcript entry's attachment, or null. */
export function deskAttachment(message) {
  const ref = message.data?.attachment;
  if (!ref) return null;
  return attachmentView(ref, () => fetch(`/api/agent/attachments/${encodeURIComponent(ref.id)}`, {
    headers: { Authorization: `Bearer ${tokens.agent()}` },
  }));
}

/** A customer is typing: shown when it is the conversation on screen. */
export function customerTyping(payload, selected) {
  if (payload.conversation_id === selected) flash($("#typing-line"), "Cliente digitando…");
}
