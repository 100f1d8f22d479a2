"""A retried hand-over (`omni_hand_over` with a first turn to record, patch `hand-over-records`)
answers as the attempt whose writes stayed, on SQLite and PostgreSQL: the queue entry and the
first turn commit together (store/hand_over.py), so an attempt that fails leaves neither, and
an attempt that finds them (a retry after a commit whose answer was lost) reads them back
instead of deciding again from live data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from activities.first_turn import QueuedRecord
from activities.omni_queue import HandOverRequest, HandOverResult, OmniActivities
from store import queue
from store.agents import set_agent_status
from store.conversations import get_conversation, messages_after
from tests.test_hand_over_store import request, setup
from workflows.contracts import Message, RecordBatch
from workflows.queueing import _stopped

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def with_record(key: str, n: int, **kw: Any) -> HandOverRequest:
    """`request(key, n)` with the first turn: the customer's `oi` (1), the block's text (2),
    the notice's seq reserved (3)."""
    batch = RecordBatch(
        conversation_id=f"c{n}",
        workflow_id=f"w{n}",
        bot="loja",
        bot_version=1,
        contact_id=f"contato{n}",
        status="waiting",
        block="humano",
        messages=[
            Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT),
            Message(seq=2, sender="bot", text="Vou te transferir.", at=AT),
        ],
    )
    record = QueuedRecord(batch=batch, first_seq=2, notice_seq=3, at=AT)
    return request(key, n, record=record, **kw)


def logged(engine: Any, conversation: str) -> list[tuple[Any, ...]]:
    return [(m.seq, m.kind, m.text, m.data) for m in messages_after(engine, conversation)]


@contextmanager
def failing_log(engine: Any) -> Iterator[None]:
    """Every insert into the log fails in SQL (a trigger), as a full disk or a dropped
    connection would fail the first turn's write after the queue entry's insert."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "CREATE FUNCTION log_fails() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'log unavailable'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER log_fails BEFORE INSERT ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION log_fails()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER log_fails BEFORE INSERT ON messages "
                    "BEGIN SELECT RAISE(FAIL, 'log unavailable'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "DROP TRIGGER log_fails"
                    + (" ON messages" if engine.dialect.name == "postgresql" else "")
                )
            )
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("DROP FUNCTION log_fails()"))


def test_a_retry_after_a_committed_hand_over_answers_as_it(any_engine):
    """Attempt 1 committed (its answer lost, e.g. past the local activity's timeout); then
    the last agent logs out and a customer with priority joins ahead. Attempt 2 neither
    answers `no_agents` beside the entry nor a second estimate: it reads back attempt 1's."""
    key, ana = setup(any_engine)
    omni = OmniActivities(any_engine)
    first = omni.hand_over(with_record(key, 1))
    assert first.entry_id == "q1" and first.recorded_through == 3
    assert first.estimate is not None and first.estimate.position == 1
    before = logged(any_engine, "c1")
    assert [row[:2] for row in before] == [(1, "text"), (2, "text"), (3, "wait_time_notice")]
    ahead = omni.hand_over(request(key, 2, priority=9))
    assert ahead.estimate is not None and ahead.estimate.position == 1
    set_agent_status(any_engine, ana, "offline")
    again: HandOverResult = omni.hand_over(with_record(key, 1))
    assert (again.entry_id, again.recorded_through) == ("q1", 3)
    assert again.estimate == first.estimate
    assert _stopped(again.target, closed=False, check_agents_online=True) is None  # queued
    assert logged(any_engine, "c1") == before
    entry = queue.open_entry(any_engine, "c1")
    assert entry is not None and entry.id == "q1"


def test_a_failed_first_attempt_leaves_no_entry_behind(any_engine):
    """The first turn's write fails after the entry's insert: both roll back. The retry sees
    nobody logged in and answers `no_agents` (no entry): no orphan entry waits in SQL."""
    key, ana = setup(any_engine)
    omni = OmniActivities(any_engine)
    with failing_log(any_engine), pytest.raises(sa.exc.DBAPIError):
        omni.hand_over(with_record(key, 1))
    assert queue.open_entry(any_engine, "c1") is None
    assert get_conversation(any_engine, "c1") is None
    set_agent_status(any_engine, ana, "offline")
    retried = omni.hand_over(with_record(key, 1))
    assert (retried.entry_id, retried.recorded_through) == (None, None)
    assert queue.open_entry(any_engine, "c1") is None and logged(any_engine, "c1") == []


def test_an_entry_made_by_an_earlier_attempt_keeps_the_customer_queued(any_engine):
    """Attempt 1 sent the customer to voicemail (nobody available: the entry alone, nothing
    recorded). Attempt 2, after the last agent logged out, still finds the customer queued
    (not `no_agents` beside the entry); once an agent is available, a retry records the turn."""
    key, ana = setup(any_engine, voicemail=60, agents="paused")
    omni = OmniActivities(any_engine)
    first = omni.hand_over(with_record(key, 1))
    assert (first.entry_id, first.recorded_through, first.estimate) == ("q1", None, None)
    set_agent_status(any_engine, ana, "offline")
    second = omni.hand_over(with_record(key, 1))
    assert (second.entry_id, second.recorded_through) == ("q1", None)
    assert _stopped(second.target, closed=False, check_agents_online=True) is None  # queued
    assert logged(any_engine, "c1") == []
    set_agent_status(any_engine, ana, "available")
    third = omni.hand_over(with_record(key, 1))
    assert (third.entry_id, third.recorded_through) == ("q1", 3)
    assert third.estimate is not None
    notice = logged(any_engine, "c1")[-1]
    assert notice[3]["estimated_wait_seconds"] == third.estimate.estimated_wait_seconds


def test_an_attempt_overtaken_at_its_insert_answers_as_the_one_that_committed(any_engine):
    """Attempt 1 (outlived its timeout) commits between attempt 2's look for the entry and
    its insert; a customer with priority then joins ahead. Attempt 2's insert fails on the
    entry's key: it starts again, finds attempt 1's first turn and answers with it."""
    key, _ = setup(any_engine)
    omni = OmniActivities(any_engine)
    answers: list[HandOverResult] = []
    overtaken: list[bool] = []

    def overtake(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if overtaken or not statement.lstrip().upper().startswith("INSERT INTO QUEUE_ENTRIES"):
            return
        overtaken.append(True)
        answers.append(omni.hand_over(with_record(key, 1)))  # another connection: attempt 1
        omni.hand_over(request(key, 2, priority=9))

    sa.event.listen(any_engine, "before_cursor_execute", overtake)
    try:
        second = omni.hand_over(with_record(key, 1))
    finally:
        sa.event.remove(any_engine, "before_cursor_execute", overtake)
    [first] = answers
    assert first.estimate is not None and first.estimate.position == 1
    assert (second.entry_id, second.recorded_through) == ("q1", 3)
    assert second.estimate == first.estimate
    notice = logged(any_engine, "c1")[-1]
    assert notice[3]["position"] == 1
    assert omni.hand_over(with_record(key, 3)).estimate.position == 3  # q2 ahead of q1, q3
