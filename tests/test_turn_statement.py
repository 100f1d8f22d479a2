"""store/turn_statement.py on PostgreSQL: the API's one-statement write of a turn takes the
conversation's row lock before it inserts entries, as the workflow's record does, so the two
writing the same seqs at once wait for each other instead of deadlocking (a first message's
too); both succeed, one row per seq stays. Its connection goes back to the pool out of
autocommit, and a turn longer than the statements kept (MAX_ENTRIES) is written whole by the
transaction."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from store import conversations as conversation_log
from store import turn_statement
from store.new_conversations import NewConversation
from tests.log_rows import batch, opened
from workflows.contracts import LogStatus, Message

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DEADLINE_SECONDS = 20


def message(seq: int, text: str) -> Message:
    return Message(seq=seq, sender="bot", text=text, at=AT)


def waiting_on_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one()) > 0


@pytest.mark.parametrize("first", [False, True], ids=["turn", "first message"])
def test_a_turn_written_during_the_workflows_record_of_the_same_seqs_waits_for_it(
    postgres_engine: sa.Engine, first: bool
) -> None:
    """A first message's turn (its row's INSERT in the UPDATE's place) waits the same way."""
    engine = postgres_engine
    new = NewConversation("c1", "conversation:loja:c1", "loja", 1, "5511", "bot") if first else None
    record = batch("c1", "bot", message(2, "the workflow's"), through=2)
    conversation_log.record_batch(engine, record.model_copy(update={"messages": []}))
    failures: list[BaseException] = []

    def api_turn() -> None:
        try:
            entries = [message(1, "the API's"), message(2, "the API's")]
            conversation_log.record_turn(engine, "c1", entries, LogStatus(status="bot"), new=new)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    with engine.connect() as workflow_conn:
        workflow_conn.begin()
        workflow_conn.execute(  # the workflow's record has the row (record_on: UPDATE first)
            sa.text("UPDATE conversations SET updated_at = now() WHERE id = 'c1'")
        )
        writer = threading.Thread(target=api_turn)
        writer.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not waiting_on_a_lock(engine):  # the API's statement waits for the row
            assert time.monotonic() < deadline, "the API's write never reached the row lock"
            time.sleep(0.01)
        conversation_log.record_on(workflow_conn, record)  # its entries, then commit
        workflow_conn.commit()
    writer.join(DEADLINE_SECONDS)
    assert not writer.is_alive() and failures == []
    entries = conversation_log.messages_after(engine, "c1")
    assert [(m.seq, m.text) for m in entries] == [(1, "the API's"), (2, "the workflow's")]


def test_after_a_turn_written_in_autocommit_the_connection_takes_whole_transactions(
    postgres_engine: sa.Engine,
) -> None:
    engine = postgres_engine
    opened(engine, "c1")
    engine.pool.dispose()  # one connection from here on: the turn's, then the transaction's
    conversation_log.record_turn(engine, "c1", [message(1, "oi")])
    with pytest.raises(ZeroDivisionError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE conversations SET status = 'ended' WHERE id = 'c1'"))
        raise ZeroDivisionError  # the transaction fails after its first statement
    row = conversation_log.get_conversation(engine, "c1")
    assert row is not None and row.status == "bot"


def test_a_turn_longer_than_the_kept_statements_is_written_whole(
    postgres_engine: sa.Engine,
) -> None:
    opened(postgres_engine, "c1")
    count = turn_statement.MAX_ENTRIES + 1
    entries = [message(seq, f"m{seq}") for seq in range(1, count + 1)]
    conversation_log.record_turn(postgres_engine, "c1", entries)
    written = conversation_log.messages_after(postgres_engine, "c1")
    assert [m.seq for m in written] == list(range(1, count + 1))
    row = conversation_log.get_conversation(postgres_engine, "c1")
    assert row is not None and row.last_seq == count
