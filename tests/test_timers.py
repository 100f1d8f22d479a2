"""The conversation's timers on their own: plain Python, no Temporal (workflows/timers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bots.models import EscapeRoute
from workflows.contracts import Contact, ConversationState, Handoff, ServiceSnapshot
from workflows.timers import IDLE_LIMIT, Timer, TimerKind, due, next_deadline, running

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
"""The customer's last message (and the queueing, in the Humano cases)."""


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def conv(**fields: Any) -> ConversationState:
    base = ConversationState.fresh(Contact(id="5511")).model_copy(update={"last_customer_at": T0})
    return base.model_copy(update=fields)


def handoff(**fields: Any) -> Handoff:
    every = fields.pop("cards_every", 0)
    service = ServiceSnapshot(
        service_id="svc",
        service_name="Suporte",
        abandon_seconds=fields.pop("abandon_seconds", 600),
        voicemail_seconds=fields.pop("voicemail_seconds", 0),
        notifications_enabled=every > 0,
        notification_interval_seconds=every,
        notification_cards=[{"title": "Enquanto espera"}],
    )
    return Handoff(block="humano", service=service, entry_id="q_1", enqueued_at=T0, **fields)


def with_cards(every: int, **fields: Any) -> Handoff:
    return handoff(cards_every=every, **fields)


REMIND = EscapeRoute(inactivity_seconds=60, text="Ainda está aí?")
LEAVE = EscapeRoute(inactivity_seconds=120, goto="fim")
KEYWORD = EscapeRoute(keywords=["humano"], goto="humano")


@pytest.mark.parametrize(
    ("state", "routes", "now", "expected"),
    [
        # the bot owns the chat: idle 24 h after the customer's last message
        (conv(), [], at(5), [Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)]),
        # no customer message yet: idle counts from now
        (conv(last_customer_at=None), [], at(5), [Timer(TimerKind.IDLE, at(5) + IDLE_LIMIT)]),
        # a question with a timeout comes before idleness when both are due
        (
            conv(question_deadline=at(300)),
            [],
            at(5),
            [Timer(TimerKind.QUESTION_TIMEOUT, at(300)), Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)],
        ),
        # inactivity escape routes first, earliest first; keyword routes have no timer
        (
            conv(),
            [LEAVE, KEYWORD, REMIND],
            at(5),
            [
                Timer(TimerKind.ESCAPE_INACTIVITY, at(60), route=2),
                Timer(TimerKind.ESCAPE_INACTIVITY, at(120), route=0),
                Timer(TimerKind.IDLE, T0 + IDLE_LIMIT),
            ],
        ),
        # a route fires once per silence of the customer
        (
            conv(escapes_fired=[2]),
            [LEAVE, KEYWORD, REMIND],
            at(70),
            [
                Timer(TimerKind.ESCAPE_INACTIVITY, at(120), route=0),
                Timer(TimerKind.IDLE, T0 + IDLE_LIMIT),
            ],
        ),
        # waiting for an agent: abandonment after the service's abandon_seconds
        (conv(handoff=handoff()), [REMIND], at(5), [Timer(TimerKind.ABANDONMENT, at(600))]),
        # ... counted from the customer's last sign of life, if after the queueing
        (
            conv(handoff=handoff(), last_customer_at=at(100)),
            [],
            at(100),
            [Timer(TimerKind.ABANDONMENT, at(700))],
        ),
        # the block's max wait leads to voicemail only when the service has one
        (
            conv(handoff=handoff(max_wait_seconds=300)),
            [],
            at(5),
            [Timer(TimerKind.ABANDONMENT, at(600))],
        ),
        (
            conv(handoff=handoff(max_wait_seconds=300, voicemail_seconds=60)),
            [],
            at(5),
            [Timer(TimerKind.MAX_WAIT, at(300)), Timer(TimerKind.ABANDONMENT, at(600))],
        ),
        # queue cards at the service's interval, from the last card sent
        (
            conv(handoff=with_cards(200, last_notification_at=at(200))),
            [],
            at(200),
            [Timer(TimerKind.ABANDONMENT, at(600)), Timer(TimerKind.QUEUE_NOTIFICATION, at(400))],
        ),
        # an agent has the chat: no timer at all
        (
            conv(handoff=handoff(agent_id="agt", agent_name="Ana"), status="in_service"),
            [],
            at(5),
            [],
        ),
        # voicemail: only its end
        (
            conv(handoff=handoff(voicemail_until=at(90)), status="voicemail"),
            [REMIND],
            at(5),
            [Timer(TimerKind.VOICEMAIL_END, at(90))],
        ),
    ],
)
def test_running_timers(
    state: ConversationState, routes: list[EscapeRoute], now: datetime, expected: list[Timer]
) -> None:
    assert running(state, routes, now) == expected


@pytest.mark.parametrize(
    ("state", "routes", "now", "next_at", "due_kind"),
    [
        (conv(), [], at(5), T0 + IDLE_LIMIT, None),
        (conv(), [], T0 + IDLE_LIMIT, T0 + IDLE_LIMIT, TimerKind.IDLE),
        (conv(question_deadline=at(300)), [], at(300), at(300), TimerKind.QUESTION_TIMEOUT),
        # an escape route and the question's timeout at once: the escape route wins
        (conv(question_deadline=at(60)), [REMIND], at(60), at(60), TimerKind.ESCAPE_INACTIVITY),
        # max wait and abandonment at once: voicemail is offered, not abandonment
        (
            conv(handoff=handoff(max_wait_seconds=600, voicemail_seconds=60)),
            [],
            at(600),
            at(600),
            TimerKind.MAX_WAIT,
        ),
        # abandonment and a card at once: abandonment wins
        (conv(handoff=with_cards(300)), [], at(600), at(300), TimerKind.ABANDONMENT),
        (conv(handoff=with_cards(300)), [], at(300), at(300), TimerKind.QUEUE_NOTIFICATION),
        (conv(handoff=with_cards(300)), [], at(299), at(300), None),
        # cards switched off or no cards: no card timer
        (conv(handoff=with_cards(0)), [], at(300), at(600), None),
        (
            conv(handoff=handoff(voicemail_until=at(90))),
            [],
            at(90),
            at(90),
            TimerKind.VOICEMAIL_END,
        ),
        (conv(handoff=handoff(agent_id="agt")), [], at(10_000), None, None),
    ],
)
def test_next_deadline_and_due_timer(
    state: ConversationState,
    routes: list[EscapeRoute],
    now: datetime,
    next_at: datetime | None,
    due_kind: TimerKind | None,
) -> None:
    found = running(state, routes, now)
    assert next_deadline(found) == next_at
    fired = due(found, now)
    assert (fired.kind if fired else None) == due_kind


def test_escape_timers_are_asked_only_when_a_route_would_have_one() -> None:
    """The workflow's patch check records a marker when asked: ask only when it matters."""
    asked: list[bool] = []

    def escape_timers() -> bool:
        asked.append(True)
        return False

    assert running(conv(), [KEYWORD], at(5), escape_timers=escape_timers) == [
        Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)
    ]
    assert running(
        conv(status="waiting", handoff=handoff()), [REMIND], at(5), escape_timers=escape_timers
    )
    assert asked == []
    assert running(conv(), [REMIND], at(5), escape_timers=escape_timers) == [
        Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)
    ]
    assert asked == [True]


def test_a_transfer_target_without_cards_sends_none() -> None:
    """The card interval is the service's own: off, or no cards, means no card timer."""
    no_cards = handoff().service.model_copy(
        update={"notifications_enabled": True, "notification_interval_seconds": 60}
    )
    assert no_cards.card_interval_seconds == 60
    assert no_cards.model_copy(update={"notification_cards": []}).card_interval_seconds == 0


HOUR = timedelta(hours=1)
ONE_ANSWERED = {"m1": (0, 2)}
TWO_ANSWERED = {"m1": (0, 2), "m2": (2, 4)}


@pytest.mark.parametrize(
    ("state", "short", "expected"),
    [
        # only the first message: the short limit
        (conv(answered=ONE_ANSWERED), HOUR, [Timer(TimerKind.IDLE, T0 + HOUR)]),
        # not a message yet (the conversation is starting): the short limit too
        (conv(), HOUR, [Timer(TimerKind.IDLE, T0 + HOUR)]),
        # a second message: engaged, 24 h
        (conv(answered=TWO_ANSWERED), HOUR, [Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)]),
        # no short limit (a history before the patch): 24 h
        (conv(answered=ONE_ANSWERED), None, [Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)]),
        # a short limit longer than 24 h is still 24 h
        (conv(answered=ONE_ANSWERED), 30 * HOUR, [Timer(TimerKind.IDLE, T0 + IDLE_LIMIT)]),
        # waiting for an agent: the queue's own timers, no idle one
        (
            conv(answered=ONE_ANSWERED, status="waiting", handoff=handoff()),
            HOUR,
            [Timer(TimerKind.ABANDONMENT, at(600))],
        ),
    ],
)
def test_unengaged_idle(
    state: ConversationState, short: timedelta | None, expected: list[Timer]
) -> None:
    assert running(state, [], at(5), unengaged_idle=lambda: short) == expected


def test_the_short_limit_is_asked_only_for_a_conversation_that_never_engaged() -> None:
    """The workflow's patch check records a marker when asked: ask only when it matters."""
    asked: list[bool] = []

    def short() -> timedelta | None:
        asked.append(True)
        return HOUR

    running(conv(answered=TWO_ANSWERED), [], at(5), unengaged_idle=short)
    running(conv(status="waiting", handoff=handoff()), [], at(5), unengaged_idle=short)
    assert asked == []
    running(conv(answered=ONE_ANSWERED), [], at(5), unengaged_idle=short)
    assert asked == [True]
