"""PostgreSQL: the API's writes ahead commit without waiting for the WAL flush
(store/loop_statements.py), so a crash of the server may take them back until a barrier has
confirmed them flushed. Those turns are not lost to the transcript: when the API finds its
connection broken, under a turn or under a barrier, the workflows whose turns were not yet
confirmed record their outboxes again."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from store import loop_statements
from store.prepared import raw_statement
from store.unflushed import Unflushed
from tests.conftest import running_stack
from tests.live import eventually
from tests.log_rows import opened
from tests.test_kept_timer import ECO
from tests.test_log_ahead import eco_turns
from tests.test_loop_statements import loop_backends, turn, until

MENU = "Escolha uma opção\n1. De novo"
ONLY_WHEN_OFF = """DO $$ BEGIN
  IF current_setting('synchronous_commit') <> 'off' THEN RAISE EXCEPTION 'waits for the flush';
  END IF; END $$"""


def seqs(engine: sa.Engine, conversation: str) -> list[int]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT seq FROM messages WHERE conversation_id = :c ORDER BY seq"),
            {"c": conversation},
        )
        return list(found.scalars())


def crash(engine: sa.Engine, conversation: str) -> None:
    """What a crash of the server before the flush does: the last turns' commits are gone, and
    so is every connection to it."""
    with engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM messages WHERE conversation_id = :c AND seq > 2"),
            {"c": conversation},
        )
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


@pytest.fixture
async def unconfirmed(postgres_engine, monkeypatch):  # type: ignore[no-untyped-def]
    """No barrier comes by itself: the turns stay unconfirmed until the test says."""
    monkeypatch.setattr(loop_statements, "BARRIER_SECONDS", 3600.0)
    assert await loop_statements.ready(postgres_engine)
    await until(lambda: len(loop_backends(postgres_engine)) == 1)  # an earlier test's may linger
    return postgres_engine


@pytest.mark.asyncio
async def test_only_the_loops_connection_commits_without_waiting_for_the_flush(unconfirmed):
    engine = unconfirmed
    assert await loop_statements.write(engine, ONLY_WHEN_OFF, None)
    with engine.connect() as pooled:
        assert pooled.execute(sa.text("SHOW synchronous_commit")).scalar() == "on"


@pytest.mark.asyncio
async def test_the_deployments_own_options_stay_on_the_loops_connection(unconfirmed):
    url = unconfirmed.url.update_query_dict({"options": "-c statement_timeout=12345"})
    engine = sa.create_engine(url)
    try:
        assert await loop_statements.ready(engine)
        kept = """DO $$ BEGIN
          IF current_setting('statement_timeout') <> '12345ms' THEN RAISE EXCEPTION 'lost';
          END IF; END $$"""
        assert await loop_statements.write(engine, kept, None)
        assert await loop_statements.write(engine, ONLY_WHEN_OFF, None)
    finally:
        engine.dispose()


@pytest.mark.asyncio
@pytest.mark.parametrize("found_by", ["the next turn", "the barrier", "the pool"])
async def test_turns_a_crash_may_have_taken_are_recorded_again_by_their_workflows(
    time_env, settings, unconfirmed, found_by
):
    engine = unconfirmed
    async with running_stack(time_env, settings, engine, ECO) as http:
        contact = found_by.replace(" ", "-")  # the test server's workflows outlive the database
        conversation = await eco_turns(http, contact, 3)  # on the loop's connection
        assert seqs(engine, conversation) == [1, 2, 3, 4, 5, 6]
        if found_by == "the pool":  # a thread's statement under way finds it first
            with pytest.raises(sa.exc.DBAPIError), raw_statement(engine) as cursor:
                crash(engine, conversation)
                cursor.execute("SELECT 1")  # lost: the pool is disposed, and the loop's too
        else:
            crash(engine, conversation)
        if found_by == "the barrier":  # nobody writes: the barrier finds the connection gone
            await loop_statements.barrier(engine)
        elif found_by == "the next turn":
            other = await eco_turns(http, "other", 1)  # its write finds the connection broken
            assert seqs(engine, other) == [1, 2]

        async def whole() -> bool | None:
            return seqs(engine, conversation) == [1, 2, 3, 4, 5, 6] or None

        await eventually(whole, "the lost turns recorded again by their workflow")
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
    assert [m["text"] for m in log] == ["oi", MENU, "1", MENU, "1", MENU]


@pytest.mark.asyncio
async def test_a_barrier_returns_once_the_commits_before_it_are_on_disk(unconfirmed):
    engine = unconfirmed
    opened(engine, "c1")
    lost: list[set[str]] = []
    for seq in range(1, 21):  # commits answered before their WAL is flushed
        assert await loop_statements.write(engine, *turn(engine, seq), "wid", lost.append)
    with engine.connect() as conn:
        written = conn.execute(sa.text("SELECT pg_current_wal_insert_lsn()")).scalar()
    await loop_statements.barrier(engine)
    with engine.connect() as conn:
        on_disk = sa.text("SELECT pg_current_wal_flush_lsn() >= CAST(:lsn AS pg_lsn)")
        assert conn.execute(on_disk, {"lsn": written}).scalar()
    await loop_statements.settle(engine)  # the app's shutdown: nothing left, nothing reported
    assert lost == []


@pytest.mark.asyncio
async def test_a_commit_whose_connection_is_retired_under_it_is_reported(unconfirmed):
    """The pool is disposed (a thread's statement found the server gone) while a turn's
    statement runs on the loop's connection: that turn can never be confirmed, so it is told
    at once with the others."""
    engine = unconfirmed
    lost: list[set[str]] = []
    with engine.connect() as holder:  # the turn's statement waits on a lock the test holds
        holder.execute(sa.text("SELECT pg_advisory_lock(4242)"))
        under_way = asyncio.create_task(
            loop_statements.write(
                engine, "SELECT pg_advisory_xact_lock(4242)", None, "under-way", lost.append
            )
        )
        await until(lambda: loop_backends(engine, waiting=True))
        await asyncio.to_thread(engine.dispose)
        holder.execute(sa.text("SELECT pg_advisory_unlock(4242)"))
        holder.commit()
    assert await under_way
    assert lost == [{"under-way"}]


def test_a_barrier_confirms_the_commits_answered_before_it_was_sent() -> None:
    unflushed = Unflushed()
    unflushed.committed("a")
    unflushed.committed("b")
    sent = unflushed.mark()
    unflushed.committed("b")  # committed again while the barrier runs
    unflushed.committed("c")
    unflushed.flushed(sent)
    assert unflushed.take() == {"b", "c"}
    assert not unflushed
