// Tela de Atendimento: how a supervisor's entries look to the agent — a whisper ("Supervisor
// (só para você)"), a barge-in (the supervisor speaking to the customer, named), a notice of a
// take-over or reassignment. Null: not a supervisor's entry.
import { h } from "./dom.js";

export function supervisorEntry(m) {
  const name = m.data?.supervisor || "Supervisor";
  if (m.kind === "whisper") {
    return h("div", { class: "msg whisper", role: "note", dataset: { seq: m.seq } },
      h("span", { class: "who" }, `Supervisor (só para você) — ${name}: `), m.text || "");
  }
  if (m.kind === "supervisor_notice") {
    return h("div", { class: "msg system supervisor-notice", role: "note", dataset: { seq: m.seq } }, m.text || "");
  }
  if (m.from === "supervisor") {
    return h("div", { class: "msg supervisor", dataset: { seq: m.seq } },
      h("span", { class: "who" }, `Supervisor ${name}`), m.text || "");
  }
  return null;
}
