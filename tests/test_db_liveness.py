"""store/db.py `ping_when_idle`: a pooled PostgreSQL connection is pinged only when it comes
out of the pool after the idle window; a dead one is then replaced before anyone uses it. A
connection used within the window is trusted: after a server-side disconnect it fails one
request, and the pool heals itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.db import make_engine
from tests.conftest import POSTGRES_URL


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate(admin: sa.Engine, pid: int) -> None:
    """What a server restart or a failover does to a pooled connection."""
    with admin.connect() as conn:
        ended = conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        assert ended.scalar_one() is True


def test_a_connection_idle_past_the_window_is_pinged_and_a_dead_one_replaced(
    postgres_engine: sa.Engine,
) -> None:
    engine = make_engine(POSTGRES_URL, ping_after_idle=0.0)
    try:
        first = backend_pid(engine)
        terminate(postgres_engine, first)
        assert backend_pid(engine) != first  # no request failed: the ping found it dead
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
