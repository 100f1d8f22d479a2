// Tela de Atendimento: what the agent does in the conversation on screen — reply (Enter sends,
// Shift+Enter breaks the line; not over the length limit: atendimento_composer.js), transfer,
// finish (asked first when a message was not sent, and always for "Encerrar conversa"; one at
// a time, and only of the conversation it was clicked for).
import { $, toast } from "./dom.js";
import { api } from "./common.js";
import { refusal, showLength } from "./atendimento_composer.js";
import { deskFinish, deskFinishRefused } from "./atendimento_desk.js";
import { reason, sending, state } from "./atendimento_state.js";
import { boxEdited, clearError, replyError } from "./atendimento_unsent.js";
import { addMessages, drop, loadTargets, renderConversation } from "./atendimento_view.js";

export function wireActions() {
  $("#reply-form").addEventListener("submit", reply);
  $("#reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("#reply-form").requestSubmit(); }
  });
  $("#reply-text").addEventListener("input", () => { boxEdited(); showLength(); });
  $("#transfer-form").addEventListener("submit", transfer);
  $("#finish-bot").addEventListener("click", () => finish(true));
  $("#finish-end").addEventListener("click", () => finish(false));
  $("#finish-dialog").addEventListener("close", () => answered?.($("#finish-dialog").returnValue === "finish"));
}

// A reply that failed is kept, with its id, in its conversation: the failure may have come after
// the server had it, so the same text sent again to the same conversation is a retry under the
// id of its oldest failure (delivered once); another text, or another conversation, is another
// message. The failed text goes back to the box, or, if the box holds another text or the same
// one for another failure (or the agent went to another conversation), it is a line of its
// conversation's transcript, so none is lost ("ok" failing twice: the box and a line).
async function reply(event) {
  event.preventDefault();
  const box = $("#reply-text");
  const text = box.value.trim();
  const conversation = state.conversations.get(state.selected);
  if (!text || !conversation) return;
  if (showLength()) { box.focus(); return; } // over the limit: said under the box, kept in it
  const id = conversation.id;
  const retried = conversation.kept.find((k) => k.text === text); // the oldest failure of this text
  const flight = { conversation: id, id: retried?.id ?? crypto.randomUUID(), text, applied: false };
  if (retried) conversation.kept.splice(conversation.kept.indexOf(retried), 1);
  if (retried?.line) { // on its way again: its line goes, or is now that of the box's failure
    const boxed = conversation.kept.find((k) => k.text === text && !k.line);
    if (boxed) boxed.line = true;
    else renderConversation();
  }
  sending.add(flight);
  box.value = ""; // free for the next message while this one is in flight
  showLength();
  clearError();
  try {
    const body = { text, message_id: flight.id };
    const message = await api(`/api/agent/conversations/${id}/messages`, { method: "POST", body, token: "agent" });
    addMessages(id, [message]);
  } catch (error) {
    if (flight.applied) return; // shown meanwhile: the server had it
    const still = state.conversations.get(id); // not transferred or finished meanwhile
    const failure = { id: flight.id, text, line: true };
    const why = refusal(error, text); // first: a limit it tells is the box's from now on
    if (state.selected !== id) {
      still?.kept.push(failure);
      toast(`A mensagem para a outra conversa não foi enviada: ${why}`);
      return;
    }
    if (!box.value) box.value = text; // back in the box for a retry
    showLength();
    // the box holds the text already (typed again): it stands for this one, unless for another
    failure.line = box.value.trim() !== text || still.kept.some((k) => k.text === text && !k.line);
    still.kept.push(failure);
    if (failure.line) renderConversation();
    replyError(still, failure, why); // stays while the failure waits for its retry
  } finally {
    sending.delete(flight);
  }
}

async function transfer(event) {
  event.preventDefault();
  const form = event.target;
  const service = form.service.value.trim();
  const extension = form.extension.value.trim();
  $(".form-error", form).textContent = "";
  if (!service === !extension) { $(".form-error", form).textContent = "Escolha um serviço ou informe um ramal (apenas um)."; return; }
  const id = state.selected;
  try {
    const result = await api(`/api/agent/conversations/${id}/transfer`, {
      method: "POST", body: service ? { service } : { extension }, token: "agent",
    });
    form.reset();
    drop(id, `Conversa transferida para ${result.service}.`);
    toast(`Conversa transferida para ${result.service}.`);
  } catch (error) {
    $(".form-error", form).textContent = error.status === 422 && Array.isArray(error.detail)
      ? "Ramal deve ter 3 dígitos." : `Transferência recusada: ${reason(error)}`;
    loadTargets(id); // the rules may have changed since the list was read
  }
}

/** "Finalizar e voltar ao bot" / "Encerrar conversa" on the conversation on screen — that one
 * only, whatever is on screen when the answer comes: the buttons are disabled while it is in
 * flight (a double click finishes one conversation), and after it the screen opens no other
 * (atendimento_list.js), so a click more finds nothing to finish. */
async function finish(returnToBot) {
  const id = state.selected;
  const conversation = state.conversations.get(id);
  if (!conversation || conversation.closed || state.finishing) return;
  const body = { return_to_bot: returnToBot, ...deskFinish() }; // the fields as clicked
  const opener = document.activeElement; // the button: the dialog cannot give focus back to it
  showFinishing(id);
  try {
    if (!(await confirmed(returnToBot, conversation))) return;
    if (state.selected !== id || state.conversations.get(id)?.closed !== null) return; // gone meanwhile
    await api(`/api/agent/conversations/${id}/finish`, { method: "POST", body, token: "agent" });
    drop(id, returnToBot ? "Atendimento finalizado: o cliente voltou ao bot." : "Conversa encerrada.");
    toast(returnToBot ? "Atendimento finalizado: o cliente voltou ao bot." : "Conversa encerrada.");
  } catch (error) {
    if (state.selected === id) $("#conv-error").textContent = reason(error);
    else toast(`A conversa não foi finalizada: ${reason(error)}`);
    await deskFinishRefused(id, error);
  } finally {
    showFinishing(null);
    const lost = document.activeElement === document.body || $("#finish-dialog").contains(document.activeElement);
    if (lost && opener?.isConnected) opener.focus(); // disabled while asked: the dialog could not
  }
}

function showFinishing(id) {
  state.finishing = id;
  $("#finish-bot").disabled = $("#finish-end").disabled = !!id;
}

let answered = null; // resolves the question of the finish dialog open

/** Asked first, in the page's own dialog (as "Sair" is): a finish with a message not sent (in
 * the box, or a failed reply waiting for its retry), and "Encerrar conversa" always (the
 * customer does not go back to the bot). True: go on. */
function confirmed(returnToBot, conversation) {
  const unsent = !!$("#reply-text").value.trim() || conversation.kept.length > 0;
  if (returnToBot && !unsent) return Promise.resolve(true);
  const dialog = $("#finish-dialog");
  $("#finish-title").textContent = returnToBot ? "Finalizar o atendimento?" : "Encerrar a conversa?";
  $("#finish-text").textContent = [
    unsent ? "Você tem uma mensagem não enviada." : "",
    returnToBot ? "" : "A conversa termina para o cliente, que não volta ao bot.",
    unsent ? (returnToBot ? "Finalizar mesmo assim?" : "Encerrar mesmo assim?") : "",
  ].filter(Boolean).join(" ");
  $("#finish-confirm").textContent = unsent ? (returnToBot ? "Finalizar mesmo assim" : "Encerrar mesmo assim") : "Sim, encerrar";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => { answered = (yes) => { answered = null; resolve(yes); }; });
}
