"""PostgreSQL turns written on the event loop's own connection (store/loop_statements.py). While
it opens, or another turn is on it, a turn goes to a thread; a connection lost under a turn
costs no turn (the thread writes it) and is opened again for the next ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from api.usecases import log_ahead
from store import conversations as conversation_log
from store import loop_statements
from tests.log_rows import opened
from workflows.contracts import Message

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DEADLINE_SECONDS = 20
NO_CLIENT: Any = None  # write_ahead needs a client only to report a turn it could not write


def turn(engine: sa.Engine, seq: int) -> tuple[str, Any]:
    entries = [Message(seq=seq, sender="bot", text=f"m{seq}", at=AT)]
    one = conversation_log.one_statement(engine, "c1", entries, None, None)
    assert one is not None
    return one


def logged(engine: sa.Engine) -> list[str | None]:
    return [m.text for m in conversation_log.messages_after(engine, "c1")]


def loop_backends(engine: sa.Engine, *, waiting: bool = False) -> list[int]:
    """The pids of this database's loop connections (of all of them, or those waiting for a
    lock)."""
    wait = " AND wait_event_type = 'Lock'" if waiting else ""
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = :name" + wait
            ),
            {"name": loop_statements.APPLICATION_NAME},
        )
        return list(found.scalars())


async def until(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "never came"
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_a_turn_waits_for_the_loops_connection_to_open_and_for_the_turn_on_it(
    postgres_engine: sa.Engine,
) -> None:
    engine = postgres_engine
    opened(engine, "c1")
    assert not await loop_statements.write(engine, *turn(engine, 1))  # opening: not sent
    assert await loop_statements.ready(engine)
    assert await loop_statements.write(engine, *turn(engine, 1))
    assert logged(engine) == ["m1"]

    with engine.connect() as other:  # another writer holds the row: the loop's turn waits
        other.begin()
        other.execute(sa.text("UPDATE conversations SET updated_at = now() WHERE id = 'c1'"))
        on_it = asyncio.create_task(loop_statements.write(engine, *turn(engine, 2)))
        await until(lambda: loop_backends(engine, waiting=True))
        assert not await loop_statements.write(engine, *turn(engine, 3))  # taken: not sent
        other.commit()
    assert await on_it
    assert logged(engine) == ["m1", "m2"]


@pytest.mark.asyncio
async def test_a_connection_lost_under_a_turn_costs_no_turn_and_is_opened_again(
    postgres_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop_statements, "RETRY_SECONDS", 0.0)
    engine = postgres_engine
    opened(engine, "c1")
    assert await loop_statements.ready(engine)
    await until(lambda: len(loop_backends(engine)) == 1)  # an earlier test's may linger
    [first] = loop_backends(engine)
    with engine.connect() as conn:  # the server ends it (a restart, a failover)
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
    missed = log_ahead.WritesBehindCollector.missed
    entries = [Message(seq=1, sender="bot", text="m1", at=AT)]
    await log_ahead.write_ahead(NO_CLIENT, engine, "wid", "c1", entries)  # a thread writes it
    assert logged(engine) == ["m1"] and log_ahead.WritesBehindCollector.missed == missed
    assert await loop_statements.ready(engine)  # opened again
    await until(lambda: len(loop_backends(engine)) == 1)
    assert first not in loop_backends(engine)
    assert await loop_statements.write(engine, *turn(engine, 2))
    assert logged(engine) == ["m1", "m2"]

    engine.dispose()  # the app's shutdown closes it
    await until(lambda: not loop_backends(engine))
