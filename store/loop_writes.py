"""SQLite: the turn's write on the event loop, never waiting, instead of in a thread.

Every customer message waits for its turn's write before the API answers (read-your-writes,
api/usecases/log_ahead.py). On SQLite that write is ~0.1 ms of work, and the hop to a thread
and back cost more than the write: ~0.19 ms of CPU per message in a warm API process (the
Update answered from a recorded reply; bench/README.md, fifteenth pass), thread wake-ups that
a machine's other processes make slower still. So the write runs on the loop when it cannot
wait: on a connection of the loop's own, outside the pool, whose busy timeout is 0, while this
process's writer lock is free (taken without waiting). Whenever either is taken, `LoopBusy` and
nothing written: the caller writes from a thread, waiting as every other writer does.

That connection never checkpoints the WAL itself (a checkpoint copies pages and syncs the file:
milliseconds the loop must not stop for); after `CHECKPOINT_EVERY` of its commits the caller
runs `checkpoint` in a thread, as SQLite's automatic checkpoint would have run it inline.
PostgreSQL's write is a round trip to another process: it stays in a thread.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.pool import PoolProxiedConnection

from store.db import one_writer
from store.prepared import mapped_errors

CHECKPOINT_EVERY = 200
"""The loop's commits between two checkpoints (a turn writes ~4 pages: SQLite's own automatic
checkpoint comes every 1,000)."""

_CONNECTIONS: weakref.WeakKeyDictionary[Engine, PoolProxiedConnection] = weakref.WeakKeyDictionary()
_COMMITS: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


class LoopBusy(Exception):
    """Someone is writing the database right now: write from a thread, which may wait."""


@contextmanager
def loop_transaction(engine: Engine) -> Iterator[DBAPICursor]:
    """A cursor in a transaction on the loop's connection of `engine` (SQLite), committed at
    the end; `LoopBusy` (rolled back) when this process's writer lock or the file is taken.
    Other failures come out as SQLAlchemy's errors, as from store.prepared.raw_transaction."""
    if engine.dialect.name != "sqlite":
        raise LoopBusy("only SQLite writes on the event loop")
    lock = one_writer(engine)
    if not lock.acquire(blocking=False):
        raise LoopBusy("this process's writer lock is taken")
    try:
        connection = _connection(engine)
        try:
            with mapped_errors(engine, connection):
                yield connection.cursor()
                connection.commit()
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                raise LoopBusy("another process is writing") from exc
            raise
        _COMMITS[engine] = _COMMITS.get(engine, 0) + 1
    finally:
        lock.release()


def _connection(engine: Engine) -> PoolProxiedConnection:
    connection = _CONNECTIONS.get(engine)
    if connection is None or not connection.is_valid:
        connection = engine.raw_connection()
        connection.detach()  # the loop's alone: closed with it, never handed to a thread
        settings = connection.cursor()
        settings.execute("PRAGMA busy_timeout=0")
        settings.execute("PRAGMA wal_autocheckpoint=0")
        settings.close()
        _CONNECTIONS[engine] = connection
    return connection


def checkpoint_due(engine: Engine) -> bool:
    """True once per `CHECKPOINT_EVERY` commits on the loop (then run `checkpoint`)."""
    if _COMMITS.get(engine, 0) < CHECKPOINT_EVERY:
        return False
    _COMMITS[engine] = 0
    return True


def checkpoint(engine: Engine) -> None:
    """Copy the WAL into the database file as far as readers allow, waiting on nobody
    (PASSIVE), from a pooled connection; for a thread."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
