// The service form's "Cuidado com o atendimento" fields (the service's `care` settings, issue 12).
// Fields not on the form keep the service's stored values (or the defaults for a new service).
const CARE_DEFAULTS = {
  wait_notice_interval_seconds: 60, wait_notice_change_seconds: 60, wait_notice_repeat: 5,
  agent_reply_seconds: 0, agent_silence_action: "alert",
  customer_reply_seconds: 0, customer_close_seconds: 120,
  csat: false, csat_timeout_seconds: 300, transcript_email: false,
};
const NUMBERS = ["wait_notice_interval_seconds", "agent_reply_seconds", "customer_reply_seconds", "customer_close_seconds", "csat_timeout_seconds"];

export function fillCare(form, care) {
  const c = { ...CARE_DEFAULTS, ...(care || {}) };
  for (const name of NUMBERS) form[`care_${name}`].value = c[name];
  form.care_agent_silence_action.value = c.agent_silence_action;
  form.care_csat.checked = c.csat;
  form.care_transcript_email.checked = c.transcript_email;
}

export function careOf(form, previous) {
  const care = { ...CARE_DEFAULTS, ...(previous || {}) };
  for (const name of NUMBERS) {
    const value = form[`care_${name}`].value;
    care[name] = value === "" ? value : Number(value);
  }
  care.agent_silence_action = form.care_agent_silence_action.value;
  care.csat = form.care_csat.checked;
  care.transcript_email = form.care_transcript_email.checked;
  return care;
}
