"""store/db.py `reads`: on PostgreSQL a read runs outside any transaction (no BEGIN, no
ROLLBACK), refuses whatever is not a plain read, gives its pooled connection back as it found
it (the next transaction on it is still all or nothing), and keeps no engine alive."""

from __future__ import annotations

import gc
import weakref

import psycopg
import pytest
import sqlalchemy as sa

from store import conversations as conversation_log
from store.db import make_engine, reads
from tests.conftest import POSTGRES_URL
from tests.log_rows import opened


def test_a_read_opens_no_transaction_and_a_write_through_it_is_refused(
    postgres_engine: sa.Engine,
) -> None:
    opened(postgres_engine, "c1")
    with reads(postgres_engine) as conn:
        found = conn.execute(sa.text("SELECT status FROM conversations WHERE id = 'c1'"))
        assert found.scalar_one() == "bot"
        driver = conn.connection.dbapi_connection
        assert driver is not None
        assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        for write in (
            "UPDATE conversations SET status = 'ended'",
            "WITH w AS (UPDATE conversations SET status = 'ended' RETURNING id) SELECT * FROM w",
            "SELECT status FROM conversations FOR UPDATE",
            "SET statement_timeout = 1234",
            "SELECT set_config('statement_timeout', '1234', false)",
            "SELECT pg_notify('x', 'y')",
            "SELECT pg_try_advisory_lock(1)",
            "SELECT * INTO copied FROM conversations",
        ):
            with pytest.raises(RuntimeError, match="not a plain read"):
                conn.execute(sa.text(write))
    row = conversation_log.get_conversation(postgres_engine, "c1")  # itself a read
    assert row is not None and row.status == "bot"


def test_after_a_read_the_pooled_connection_takes_whole_transactions_again(
    postgres_engine: sa.Engine,
) -> None:
    opened(postgres_engine, "c1")
    postgres_engine.pool.dispose()  # one connection from here on, read then written
    pid = sa.text("SELECT pg_backend_pid()")
    with reads(postgres_engine) as conn:
        read_on = conn.execute(pid).scalar_one()
    with pytest.raises(ZeroDivisionError), postgres_engine.begin() as conn:
        assert conn.execute(pid).scalar_one() == read_on
        conn.execute(sa.text("UPDATE conversations SET status = 'ended' WHERE id = 'c1'"))
        raise ZeroDivisionError  # the transaction fails after its first statement
    row = conversation_log.get_conversation(postgres_engine, "c1")
    assert row is not None and row.status == "bot"


def test_reading_keeps_no_engine_alive(postgres_engine: sa.Engine) -> None:
    engine = make_engine(POSTGRES_URL)
    with reads(engine) as conn:
        conn.execute(sa.text("SELECT 1"))
    engine.dispose()
    gone = weakref.ref(engine)
    del engine, conn
    gc.collect()
    assert gone() is None


def test_at_another_isolation_level_a_read_keeps_its_transaction(
    postgres_engine: sa.Engine,
) -> None:
    """Autocommit is only what READ COMMITTED gives anyway; at REPEATABLE READ the statements
    of one read must share one snapshot, so `reads` leaves the connection as it is."""
    url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://")
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with reads(engine) as conn:
            conn.execute(sa.text("SELECT 1"))
            driver = conn.connection.dbapi_connection
            assert driver is not None
            assert driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    finally:
        engine.dispose()
