"""The care timers of a conversation (issue 12), decided without Temporal (table-tested).

While the customer waits: the periodic wait notice (`wait_time_notice: periodic`, every
`wait_notice_interval_seconds`). While an agent has the chat: the agent's silence (a customer
message unanswered for `agent_reply_seconds`, once per unanswered message) and the customer's
silence (`customer_reply_seconds` after the agent's last message: a warning; then
`customer_close_seconds` more: the conversation closes). After the agent finished: the CSAT
survey's timeout. All off unless the service's `care` settings turn them on, so conversations
of services without them (and every history recorded before) have none of these timers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from omni.service_care import ServiceCare
from workflows.contracts import ConversationState, HandoffCare
from workflows.timers import Timer, TimerKind


def care_timers(conv: ConversationState, *, periodic: bool) -> list[Timer]:
    """The care timers running now; `periodic` is the bot's `wait_time_notice == periodic`."""
    if conv.csat is not None:
        seconds = conv.csat.handoff.service.care.csat_timeout_seconds
        at = conv.csat.asked_at + timedelta(seconds=seconds)
        return [Timer(TimerKind.CSAT_TIMEOUT, at)]
    handoff = conv.handoff
    if handoff is None or handoff.voicemail_until is not None:
        return []
    care, marks = handoff.service.care, handoff.care
    if handoff.agent_id is None:
        if not periodic:
            return []
        last = marks.last_notice_at or handoff.enqueued_at
        at = last + timedelta(seconds=care.wait_notice_interval_seconds)
        return [Timer(TimerKind.WAIT_NOTICE, at)]
    found = []
    if care.agent_reply_seconds and marks.customer_waiting_since and not marks.agent_alerted:
        at = marks.customer_waiting_since + timedelta(seconds=care.agent_reply_seconds)
        found.append(Timer(TimerKind.AGENT_SILENCE, at))
    if care.customer_reply_seconds and marks.customer_waiting_since is None:
        silence = _customer_silence(marks, care)
        if silence is not None:
            found.append(silence)
    return found


def _customer_silence(marks: HandoffCare, care: ServiceCare) -> Timer | None:
    """Warn after `customer_reply_seconds` of silence since the agent spoke; close after
    `customer_close_seconds` more (a customer message clears the warning)."""
    if marks.customer_warned_at is not None:
        at = marks.customer_warned_at + timedelta(seconds=care.customer_close_seconds)
        return Timer(TimerKind.CUSTOMER_CLOSE, at)
    if marks.agent_spoke_at is None:
        return None
    at = marks.agent_spoke_at + timedelta(seconds=care.customer_reply_seconds)
    return Timer(TimerKind.CUSTOMER_SILENCE, at)


def look_counted_from(due: datetime, now: datetime, interval_seconds: int) -> datetime:
    """When a periodic wait look counts as done: at `due` (the cadence does not drift), or at
    `now` when the timer fired a whole interval late (a worker outage), so the missed looks do
    not run back to back."""
    return now if now - due >= timedelta(seconds=interval_seconds) else due
