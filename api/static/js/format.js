// How the screens write numbers, dates and statuses in pt-BR: durations, date-times, an agent's
// status and a conversation's.

/** 75 → "1 min 15 s"; null → "—". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString("pt-BR") : "—");

const STATUS_PT = { available: "Disponível", paused: "Pausado", offline: "Offline", away: "Ausente" };
export const statusLabel = (status) => STATUS_PT[status] || status;
// A conversation's status (and, when it ended so, its queue's `abandoned`), as the screens say it.
const CONVERSATION_STATUS_PT = {
  bot: "Com o bot", waiting: "Na fila", in_service: "Em atendimento", voicemail: "Caixa Postal",
  ended: "Encerrada", abandoned: "Abandonada na fila",
};
export const conversationStatusLabel = (status) => CONVERSATION_STATUS_PT[status] || status;
