"""SQLite: the turn's write on the event loop, never waiting, instead of in a thread.

Every customer message waits for its turn's write before the API answers (read-your-writes,
api/usecases/log_ahead.py). On SQLite that write is ~0.1 ms of work, and the hop to a thread
and back cost about twice that in a warm API process (620 -> 420 µs per turn with the Update
answered from a recorded reply; in the running stack the API's own work per turn 1.77 ->
1.37 ms: bench/README.md, fifteenth pass). So the write runs on the loop when it cannot wait:
on a connection of the loop's own, outside the pool, whose busy timeout is 0, while this
process's writer lock is free (taken without waiting). Whenever either is taken, `LoopBusy`
and nothing written: the caller writes from a thread, waiting as every other writer does.

What would still make a commit wait goes to a thread too: the connection is opened there
(`open_for_loop`), and from a checkpoint on until a thread's write has started the WAL over
(that write syncs the WAL's new header to disk) the loop does not write. The loop's connection
never checkpoints itself (a checkpoint copies pages and syncs the file); after
`CHECKPOINT_EVERY` of its commits the caller runs `checkpoint` in a thread, as SQLite's
automatic checkpoint would have run it inline. A checkpoint by another connection (another
process's, or a pooled one's automatic checkpoint), or one of ours that readers kept partial,
can still hand the loop one synced header.
PostgreSQL's write is a round trip to another process: it stays in a thread.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import DBAPICursor

from store.db import one_writer

CHECKPOINT_EVERY = 200
"""The loop's commits between two checkpoints (a turn writes 4-5 pages: SQLite's own automatic
checkpoint comes every 1,000)."""

_CONNECTIONS: weakref.WeakKeyDictionary[Engine, sqlite3.Connection] = weakref.WeakKeyDictionary()
_COMMITS: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_RESTARTING: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
"""Engines whose loop writes wait out a checkpoint: False while it runs, True once done
(until a thread's write has started the WAL over)."""
_WAITS = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class LoopBusy(Exception):
    """Writing now could wait: write from a thread instead."""


@contextmanager
def loop_transaction(engine: Engine) -> Iterator[DBAPICursor]:
    """A cursor in a transaction on the loop's connection of `engine` (SQLite), committed at
    the end; `LoopBusy` (rolled back) when writing could wait. Other failures come out as
    SQLAlchemy's errors, as from store.prepared.raw_transaction."""
    connection = _CONNECTIONS.get(engine)
    if connection is None:
        raise LoopBusy("the loop's connection is not open (a thread opens it)")
    if engine in _RESTARTING:
        raise LoopBusy("a checkpoint: the WAL's next write syncs its new header")
    lock = one_writer(engine)
    if not lock.acquire(blocking=False):
        raise LoopBusy("this process's writer lock is taken")
    try:
        try:
            cursor = connection.cursor()
            try:
                yield cast(DBAPICursor, cursor)
                connection.commit()
            finally:
                cursor.close()
        except BaseException as failure:
            try:
                connection.rollback()
            except sqlite3.Error:  # a connection that cannot roll back is not used again
                _close(engine)
            code = getattr(failure, "sqlite_errorcode", None)  # SQLite's own errors only
            if code is not None and code & 0xFF in _WAITS:  # extended: BUSY_SNAPSHOT...
                raise LoopBusy("another connection is writing") from failure
            if isinstance(failure, sqlite3.Error):
                raise sa.exc.DBAPIError.instance(None, None, failure, sqlite3.Error) from failure
            if isinstance(failure, ValueError | TypeError):  # a value no column takes
                raise sa.exc.StatementError(str(failure), None, None, failure) from failure
            raise
        _COMMITS[engine] = _COMMITS.get(engine, 0) + 1
    finally:
        lock.release()


def open_for_loop(engine: Engine) -> None:
    """Open the loop's connection of a SQLite `engine`, once (for a thread: it may wait on the
    pool). Kept apart from the engine (no reference back), closed when it is disposed."""
    if engine.dialect.name != "sqlite" or engine in _CONNECTIONS:
        return
    pooled = engine.raw_connection()
    pooled.detach()  # the loop's alone: never handed to a thread
    connection = pooled.dbapi_connection
    assert isinstance(connection, sqlite3.Connection)
    connection.execute("PRAGMA busy_timeout=0")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    _CONNECTIONS[engine] = connection
    event.listen(engine, "engine_disposed", _close)


def is_open(engine: Engine) -> bool:
    """Whether the loop's connection of `engine` is open (its writes may go on the loop)."""
    return engine in _CONNECTIONS


def _close(engine: Engine) -> None:
    connection = _CONNECTIONS.pop(engine, None)
    if connection is not None:
        connection.close()


def checkpoint_due(engine: Engine) -> bool:
    """True once per `CHECKPOINT_EVERY` commits on the loop: then run `checkpoint` (in a
    thread). From now until a thread's write after it, the loop does not write."""
    if _COMMITS.get(engine, 0) < CHECKPOINT_EVERY:
        return False
    _COMMITS[engine] = 0
    _RESTARTING[engine] = False
    return True


def checkpoint(engine: Engine) -> None:
    """Copy the WAL into the database file as far as readers allow, waiting on nobody
    (PASSIVE), from a pooled connection; for a thread."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        if engine in _RESTARTING:
            _RESTARTING[engine] = True  # done: the next write starts the WAL over


def checkpointed(engine: Engine) -> bool:
    """Read before a thread's write: whether a checkpoint of the loop's had finished."""
    return _RESTARTING.get(engine, False)


def thread_wrote(engine: Engine, after_checkpoint: bool) -> None:
    """A thread's write committed; begun after the checkpoint finished, it started the WAL
    over (and synced its header): the loop writes again."""
    if after_checkpoint:
        _RESTARTING.pop(engine, None)
