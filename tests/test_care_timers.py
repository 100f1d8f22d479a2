"""The care timers on their own (workflows/care_timers.py): plain Python, no Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omni.service_care import ServiceCare
from workflows.care_timers import care_timers, look_counted_from
from workflows.contracts import (
    Contact,
    ConversationState,
    CsatPending,
    Handoff,
    HandoffCare,
    ServiceSnapshot,
)
from workflows.timers import TimerKind

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def handoff(care: dict[str, Any] | None = None, **fields: Any) -> Handoff:
    service = ServiceSnapshot(
        service_id="svc",
        service_name="Suporte",
        abandon_seconds=600,
        care=ServiceCare(**(care or {})),
    )
    marks = HandoffCare(**fields.pop("marks", {}))
    return Handoff(
        block="humano", service=service, entry_id="q_1", enqueued_at=T0, care=marks, **fields
    )


def conv(h: Handoff | None = None, **fields: Any) -> ConversationState:
    base = ConversationState.fresh(Contact(id="5511"))
    return base.model_copy(update={"handoff": h, **fields})


IN_SERVICE = {"agent_id": "ag_1", "agent_name": "Ana"}
SILENCE = {"agent_reply_seconds": 120, "customer_reply_seconds": 300, "customer_close_seconds": 60}


@pytest.mark.parametrize(
    ("state", "periodic", "expected"),
    [
        # nothing on: none of the care timers
        (conv(), True, []),
        (conv(handoff()), False, []),
        (conv(handoff(**IN_SERVICE)), True, []),
        # waiting, periodic: every interval from the last look (or the queueing)
        (conv(handoff()), True, [(TimerKind.WAIT_NOTICE, 60)]),
        (
            conv(handoff({"wait_notice_interval_seconds": 90}, marks={"last_notice_at": at(90)})),
            True,
            [(TimerKind.WAIT_NOTICE, 180)],
        ),
        # voicemail: none
        (conv(handoff(voicemail_until=at(30))), True, []),
        # in service, the customer waits for the agent's answer: the agent's silence
        (
            conv(handoff(SILENCE, marks={"customer_waiting_since": at(10)}, **IN_SERVICE)),
            True,
            [(TimerKind.AGENT_SILENCE, 130)],
        ),
        # ... once per unanswered message
        (
            conv(
                handoff(
                    SILENCE,
                    marks={"customer_waiting_since": at(10), "agent_alerted": True},
                    **IN_SERVICE,
                )
            ),
            True,
            [],
        ),
        # the agent spoke last: the customer's silence, then the close after the warning
        (
            conv(handoff(SILENCE, marks={"agent_spoke_at": at(20)}, **IN_SERVICE)),
            True,
            [(TimerKind.CUSTOMER_SILENCE, 320)],
        ),
        (
            conv(
                handoff(
                    SILENCE,
                    marks={"agent_spoke_at": at(20), "customer_warned_at": at(320)},
                    **IN_SERVICE,
                )
            ),
            True,
            [(TimerKind.CUSTOMER_CLOSE, 380)],
        ),
        # the agent never spoke: the customer owes nothing yet
        (conv(handoff(SILENCE, **IN_SERVICE)), True, []),
    ],
)
def test_care_timers(
    state: ConversationState, periodic: bool, expected: list[tuple[TimerKind, int]]
) -> None:
    found = care_timers(state, periodic=periodic)
    assert [(t.kind, int((t.at - T0).total_seconds())) for t in found] == expected


def test_a_pending_survey_has_only_its_timeout() -> None:
    done = handoff({"csat": True, "csat_timeout_seconds": 200}, **IN_SERVICE)
    state = conv(None, csat=CsatPending(handoff=done, asked_at=at(50)))
    assert [(t.kind, t.at) for t in care_timers(state, periodic=True)] == [
        (TimerKind.CSAT_TIMEOUT, at(250))
    ]


@pytest.mark.parametrize(
    ("now", "counted_from"),
    [
        (60, 60),  # on time
        (65, 60),  # a little late: the cadence keeps to the timer's time
        (119, 60),
        (120, 120),  # a whole interval late (worker down): one look now, not a burst
        (3660, 3660),
    ],
)
def test_a_late_wait_look_counts_from_now(now: float, counted_from: float) -> None:
    assert look_counted_from(at(60), at(now), 60) == at(counted_from)
