"""store/db.py `ping_when_idle`: a pooled PostgreSQL connection is pinged only when it comes
out of the pool after the idle window; a dead one is then replaced before anyone uses it. A
connection used within the window is trusted: after a server-side disconnect (a restart, a
failover) it fails one request, through SQLAlchemy or through the turn's raw write
(store/prepared.py), and the whole pool starts afresh."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from store import conversations as conversation_log
from store.db import make_engine
from tests.conftest import POSTGRES_URL
from tests.log_rows import opened
from workflows.contracts import Message

POOLED = 3


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def pooled_pids(engine: sa.Engine) -> list[int]:
    """POOLED connections opened at once, then given back to the pool."""
    connections = [engine.connect() for _ in range(POOLED)]
    pids = [int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in connections]
    for connection in connections:
        connection.close()
    return pids


def terminate(admin: sa.Engine, pid: int) -> None:
    """What a server restart or a failover does to a pooled connection."""
    with admin.connect() as conn:
        ended = conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        assert ended.scalar_one() is True


def test_a_connection_idle_past_the_window_is_pinged_and_a_dead_one_replaced(
    postgres_engine: sa.Engine,
) -> None:
    engine = make_engine(POSTGRES_URL, ping_after_idle=-1.0)  # every checkout pings
    try:
        dead = pooled_pids(engine)
        for pid in dead:
            terminate(postgres_engine, pid)
        served = {backend_pid(engine) for _ in range(POOLED)}  # no request fails
        assert not served & set(dead)
    finally:
        engine.dispose()


def test_a_connection_used_within_the_window_fails_once_then_the_pool_heals(
    postgres_engine: sa.Engine,
) -> None:
    engine = make_engine(POSTGRES_URL, ping_after_idle=3600.0)
    try:
        first = backend_pid(engine)
        terminate(postgres_engine, first)
        with pytest.raises(sa.exc.OperationalError):
            backend_pid(engine)  # trusted without a ping: the one request that fails
        assert backend_pid(engine) != first
    finally:
        engine.dispose()


def test_after_a_restart_one_failed_turn_write_renews_the_whole_pool(
    postgres_engine: sa.Engine,
) -> None:
    """The API's write of a turn runs on the DBAPI connection, not through a `Connection`;
    its first failure on a lost connection still drops every other stale one."""
    opened(postgres_engine, "c1")
    engine = make_engine(POSTGRES_URL, ping_after_idle=3600.0)
    try:
        dead = pooled_pids(engine)
        for pid in dead:
            terminate(postgres_engine, pid)
        with pytest.raises(sa.exc.DBAPIError):
            conversation_log.record_turn(engine, "c1", [entry(1)])
        renewed = pooled_pids(engine)  # as many at once as before: none of them stale
        assert not set(renewed) & set(dead)
        conversation_log.record_turn(engine, "c1", [entry(1)])
        assert [m.seq for m in conversation_log.messages_after(postgres_engine, "c1")] == [1]
    finally:
        engine.dispose()


def entry(seq: int) -> Message:
    return Message(seq=seq, sender="bot", text=f"m{seq}", at=datetime.now(UTC))
