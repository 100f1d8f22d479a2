"""store/db.py: SQLite has one writer per process (a lock from the first write statement to
commit or rollback), so concurrent writers queue instead of napping in SQLite's busy handler."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.db import is_write, make_engine, one_writer


def table_engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
    return engine


def test_write_statements_are_told_from_reads() -> None:
    assert is_write("INSERT INTO t VALUES (1)")
    assert is_write("  update t SET n = 1")
    assert is_write("DELETE FROM t")
    assert not is_write("SELECT * FROM t")
    assert not is_write("PRAGMA journal_mode=WAL")


def test_many_threads_write_at_once_and_every_write_lands(tmp_path: Path) -> None:
    engine = table_engine(tmp_path)

    def write(i: int) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t (id, n) VALUES (:i, 0)"), {"i": i})
            conn.execute(sa.text("UPDATE t SET n = n + 1 WHERE id = :i"), {"i": i})

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(400)))
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM t WHERE n = 1")) == 400
    engine.dispose()


def test_the_lock_is_given_back_on_commit_and_on_rollback(tmp_path: Path) -> None:
    engine = table_engine(tmp_path)
    lock = one_writer(engine)  # the engine's lock (made with the engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t (id, n) VALUES (1, 0)"))
        assert not free_in_another_thread(lock)  # held from the first write
    assert free_in_another_thread(lock)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t (id, n) VALUES (2, 0)"))
        conn.execute(sa.text("INSERT INTO t (id, n) VALUES (2, 0)"))  # duplicate key
    assert free_in_another_thread(lock)
    with engine.connect() as conn:  # reads never take it
        conn.execute(sa.text("SELECT * FROM t")).all()
        assert free_in_another_thread(lock)
        assert conn.scalar(sa.text("SELECT count(*) FROM t")) == 1
    engine.dispose()


def free_in_another_thread(lock: threading.RLock) -> bool:
    result: list[bool] = []

    def probe() -> None:
        taken = lock.acquire(blocking=False)
        if taken:
            lock.release()
        result.append(taken)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return result[0]


def test_a_failed_statements_error_names_no_value(any_engine: sa.Engine) -> None:
    """A SQL error's text goes to logs (a failed write ahead, an activity's failure): the
    customer's words and documents in its parameters stay out of it."""
    cpf = "123.456.789-09"
    with pytest.raises(sa.exc.DBAPIError) as failed, any_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO no_such_table (cpf) VALUES (:cpf)"), {"cpf": cpf})
    assert "no_such_table" in str(failed.value)
    assert cpf not in str(failed.value)
