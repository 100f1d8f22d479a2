// Tela de Atendimento: how a supervisor's entries look to the agent — a whisper ("Supervisor
// (só para você)"), a barge-in (the supervisor speaking to the customer, named), a notice of a
// take-over or reassignment. Null: not a supervisor's entry. The naming helpers are shared with
// the web chat (chat_render.js) and the Supervisor screen (supervisor_live.js).
import { h } from "./dom.js";

/** The name "Supervisor" (the API's default, and the admin's "Seu nome" left as it is) is the
 * title alone, not a name; a name that starts with the title ("Supervisora Carla") says it too. */
const BARE = /^supervisor$/i;
const TITLED = /^supervisora?(\s|$)/i;

/** A supervisor's name beside the title ("— Carla", "(Carla)"): empty for the bare title. */
export function supervisorName(name) {
  const given = (name || "").trim();
  return BARE.test(given) ? "" : given;
}

/** How the agent and the customer see a supervisor: "Supervisor Carla", "Supervisor" (no name
 * or the bare title), "Supervisora Carla" (the title not said twice). */
export function supervisorTitle(name) {
  const given = supervisorName(name);
  if (!given) return "Supervisor";
  return TITLED.test(given) ? given : `Supervisor ${given}`;
}

/** A take-over's or reassignment's notice as the workflow wrote it, "Supervisor {name} passou…"
 * (histories keep that text), with the title said once: "Supervisor passou…" for the bare title. */
export function supervisorNotice(m) {
  const text = m.text || "";
  const name = m.data?.supervisor;
  const written = `Supervisor ${name} `;
  return name && text.startsWith(written) ? `${supervisorTitle(name)} ${text.slice(written.length)}` : text;
}

export function supervisorEntry(m) {
  const name = supervisorName(m.data?.supervisor);
  if (m.kind === "whisper") {
    return h("div", { class: "msg whisper", role: "note", dataset: { seq: m.seq } },
      h("span", { class: "who" }, name ? `Supervisor (só para você) — ${name}: ` : "Supervisor (só para você): "), m.text || "");
  }
  if (m.kind === "supervisor_notice") {
    return h("div", { class: "msg system supervisor-notice", role: "note", dataset: { seq: m.seq } }, supervisorNotice(m));
  }
  if (m.from === "supervisor") {
    return h("div", { class: "msg supervisor", dataset: { seq: m.seq } },
      h("span", { class: "who" }, supervisorTitle(m.data?.supervisor)), m.text || "");
  }
  return null;
}
