"""A conversation's timers, decided without Temporal: which deadline is next, which timer is due.

The conversation workflow waits until `next_deadline(...)` and, when it passes, does what
`due(...)` names. Seven kinds: while the bot owns the chat, a question's timeout, inactivity
escape routes and the 24 h idle end; while the customer waits for an agent, the block's max wait
(then voicemail), abandonment and the queue's carousel of cards; in voicemail, its end. None while
an agent has the chat. Pure: the same state and `now` give the same answer (table-tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bots.models import EscapeRoute
from workflows.contracts import ConversationState, Handoff

IDLE_LIMIT = timedelta(hours=24)
"""A conversation with no customer message for this long ends by itself."""
UNENGAGED_MESSAGES = 1
"""A conversation whose customer sent no more than this many messages never engaged: it ends
after the short `unengaged_idle` instead (an anonymous first message holds nothing for 24 h)."""


class TimerKind(StrEnum):
    QUESTION_TIMEOUT = "question_timeout"
    ESCAPE_INACTIVITY = "escape_inactivity"
    IDLE = "idle"
    MAX_WAIT = "max_wait"
    ABANDONMENT = "abandonment"
    QUEUE_NOTIFICATION = "queue_notification"
    VOICEMAIL_END = "voicemail_end"
    # the care timers (workflows/care_timers.py)
    WAIT_NOTICE = "wait_notice"
    AGENT_SILENCE = "agent_silence"
    CUSTOMER_SILENCE = "customer_silence"
    CUSTOMER_CLOSE = "customer_close"
    CSAT_TIMEOUT = "csat_timeout"
    OFFER_LAPSE = "offer_lapse"


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    at: datetime
    route: int | None = None
    """For ESCAPE_INACTIVITY: the index of the escape route in the flow."""


def _always() -> bool:
    return True


def _no_short_limit() -> timedelta | None:
    return None


def running(
    conv: ConversationState,
    routes: Sequence[EscapeRoute],
    now: datetime,
    *,
    escape_timers: Callable[[], bool] = _always,
    unengaged_idle: Callable[[], timedelta | None] = _no_short_limit,
) -> list[Timer]:
    """Every timer running now, in the order they win when several are due at once.

    `escape_timers` says whether inactivity escape routes have timers at all (the workflow's
    patch check); it is asked only when a route would have one. `unengaged_idle` is the idle
    limit of a conversation that never engaged (None: the 24 h one); asked only for those."""
    handoff = conv.handoff
    if handoff is not None:
        if handoff.voicemail_until is not None:
            return [Timer(TimerKind.VOICEMAIL_END, handoff.voicemail_until)]
        if handoff.agent_id is not None:
            return []
        return _waiting(conv, handoff)
    found = _escapes(conv, routes, now, escape_timers)
    if conv.question_deadline is not None:
        found.append(Timer(TimerKind.QUESTION_TIMEOUT, conv.question_deadline))
    found.append(
        Timer(TimerKind.IDLE, (conv.last_customer_at or now) + _idle_limit(conv, unengaged_idle))
    )
    return found


def engaged(conv: ConversationState) -> bool:
    """The customer sent more than the first message."""
    return len(conv.answered) > UNENGAGED_MESSAGES


def _idle_limit(
    conv: ConversationState, unengaged_idle: Callable[[], timedelta | None]
) -> timedelta:
    if engaged(conv):
        return IDLE_LIMIT
    short = unengaged_idle()
    return IDLE_LIMIT if short is None else min(short, IDLE_LIMIT)


def next_deadline(timers: Sequence[Timer]) -> datetime | None:
    """When the first of `timers` fires (None: no timer runs)."""
    return min((timer.at for timer in timers), default=None)


def due(timers: Sequence[Timer], now: datetime) -> Timer | None:
    """The timer to act on at `now`: the first due one in `running`'s order."""
    return next((timer for timer in timers if timer.at <= now), None)


def _waiting(conv: ConversationState, handoff: Handoff) -> list[Timer]:
    """Max wait (then voicemail, when the service has one), abandonment `abandon_seconds` after
    the customer's last sign of life (or the queueing), and the carousel at its interval."""
    found = []
    service = handoff.service
    if handoff.max_wait_seconds and service.voicemail_seconds:
        at = handoff.enqueued_at + timedelta(seconds=handoff.max_wait_seconds)
        found.append(Timer(TimerKind.MAX_WAIT, at))
    last = max(handoff.enqueued_at, conv.last_customer_at or handoff.enqueued_at)
    found.append(Timer(TimerKind.ABANDONMENT, last + timedelta(seconds=service.abandon_seconds)))
    if interval := service.card_interval_seconds:
        last_card = handoff.last_notification_at or handoff.enqueued_at
        found.append(Timer(TimerKind.QUEUE_NOTIFICATION, last_card + timedelta(seconds=interval)))
    offer = handoff.offer
    if offer is not None and offer.entry_id == handoff.entry_id and offer.deadline is not None:
        found.append(Timer(TimerKind.OFFER_LAPSE, offer.deadline))
    return found


def _escapes(
    conv: ConversationState,
    routes: Sequence[EscapeRoute],
    now: datetime,
    escape_timers: Callable[[], bool],
) -> list[Timer]:
    """Inactivity escape routes ("rotas de fuga"): each once per silence of the customer, only
    while the bot owns the chat; the earliest first (the first route on a tie)."""
    timed = [
        (index, route.inactivity_seconds)
        for index, route in enumerate(routes)
        if route.inactivity_seconds and index not in conv.escapes_fired
    ]
    if not timed or conv.status != "bot" or not escape_timers():
        return []
    since = conv.last_customer_at or now
    found = [
        Timer(TimerKind.ESCAPE_INACTIVITY, since + timedelta(seconds=seconds), route=index)
        for index, seconds in timed
    ]
    return sorted(found, key=lambda timer: (timer.at, timer.route or 0))
