"""PostgreSQL: the turn's one statement on the API's event loop, on a connection of its own.

Every customer message waits for its turn's write (store/conversations.py `record_turn`). On
PostgreSQL that write is one statement in autocommit (store/turn_statement.py); run from a
thread, the hop there and back cost about a third of it on a busy 2-core VM (bench/README.md,
sixteenth pass). So, as SQLite's write does (store/loop_writes.py), it runs on the event loop
when it can: over one psycopg `AsyncConnection` per engine (for the loop that last used it: a
process runs one), in
autocommit, opened in the background on first use, one turn at a time. `write` says False
(nothing sent) while the connection opens, waits to be opened again after a failure
(`RETRY_SECONDS`), or carries another turn; the caller then writes from a thread as before. A
statement whose connection broke (or was left mid-statement: cancelled) closes it, and its
error goes to the caller, whose thread's write repeats the statement (it is idempotent: the
row's raises are guarded, store/row_raises.py; the entries go in `ON CONFLICT DO NOTHING`,
store/turn_statement.py).

The connection commits without waiting for the WAL flush (`synchronous_commit` off): the
write ahead is for reading one's own writes, not for durability, which is the workflow's
history's (its records are the backstop: api/usecases/log_ahead.py). A PostgreSQL crash may
take the last commits with it (at most three `wal_writer_delay`s, 0.6 s by default), as an OS
crash may take SQLite's last commits under `synchronous=NORMAL`. So the connection remembers
whose turns it committed in the last `LOSS_WINDOW` seconds before its newest one, and when it
is found broken `write` raises `CommitsMayBeLost` naming them: their workflows record again.
Half the statement's time on an idle loopback was that flush (bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

APPLICATION_NAME = "transbordo-api-loop"
"""How the loops' connections show in `pg_stat_activity`."""
RETRY_SECONDS = 5.0
"""After a connection failed to open or broke, turns go to threads this long before the next
attempt: a database that refuses connections is not asked again per message."""
LOSS_WINDOW = 2.0
"""Seconds before its newest commit that a broken connection's commits may have been lost in
a crash: PostgreSQL flushes asynchronous commits within three `wal_writer_delay`s (0.2 s by
default)."""


class CommitsMayBeLost(Exception):
    """The connection broke: the commits it made just before (the `keys` their writes named)
    may be gone with a crash of the server."""

    def __init__(self, keys: set[str]) -> None:
        super().__init__(f"{len(keys)} recent commits may be lost")
        self.keys = keys


@dataclass
class _Loop:
    """The loop's connection for one engine."""

    loop: asyncio.AbstractEventLoop
    connection: Any = None  # psycopg.AsyncConnection, once open
    opening: asyncio.Task[None] | None = None
    busy: bool = False
    retry_at: float = 0.0
    recent: deque[tuple[float, str]] = field(default_factory=deque)
    """(loop time, key) of the connection's commits within LOSS_WINDOW of its newest."""


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, _Loop] = weakref.WeakKeyDictionary()


async def write(engine: Engine, sql: str, params: Any, key: str | None = None) -> bool:
    """Run one autocommit statement on the loop's connection: True once done; False when it
    is not there or is taken (nothing sent: write from a thread). Raises what the statement
    raised (the connection is closed if it broke), or `CommitsMayBeLost` from it when the
    server broke the connection and the writes just before, named by their `key`, may be
    gone."""
    here = _state(engine)
    connection = here.connection
    if here.busy or connection is None or connection.closed:
        return False
    here.busy = True
    try:
        await connection.execute(sql, params)
    except BaseException as failure:
        if _unusable(connection):  # lost, or left mid-statement (psycopg's cancel may leave it)
            log.warning("the event loop's PostgreSQL connection failed: %s", failure)
            broken = connection.broken
            _detach(here, connection, retry=broken)
            lost = {key for _, key in here.recent}
            here.recent.clear()
            if broken and lost and isinstance(failure, Exception):
                raise CommitsMayBeLost(lost) from failure
        raise
    finally:
        here.busy = False
        if here.connection is not connection:  # detached meanwhile (a dispose)
            _close(here, connection)
    if key is not None:
        _remember(here, key)
    return True


def _remember(here: _Loop, key: str) -> None:
    now = here.loop.time()
    here.recent.append((now, key))
    while here.recent[0][0] < now - LOSS_WINDOW:
        here.recent.popleft()


async def ready(engine: Engine) -> bool:
    """Whether this loop's connection is open, once it has tried to open (tests, ops)."""
    here = _state(engine)
    if here.opening is not None:
        await asyncio.shield(here.opening)
    return here.connection is not None and not here.connection.closed


def _state(engine: Engine) -> _Loop:
    """This loop's state for `engine`, the connection asked for when it is not open."""
    loop = asyncio.get_running_loop()
    here = _BY_ENGINE.get(engine)
    if here is None or here.loop is not loop:
        if here is not None:  # another loop's (tests run several, one after the other)
            _on_its_loop(here, _detach, here, here.connection)
        here = _BY_ENGINE[engine] = _Loop(loop)
        if not event.contains(engine, "engine_disposed", _disposed):
            event.listen(engine, "engine_disposed", _disposed)  # the app's shutdown, a lost pool
    closed = here.connection is None or here.connection.closed
    if closed and here.opening is None and loop.time() >= here.retry_at:
        here.opening = loop.create_task(_open(engine, here))
    return here


async def _open(engine: Engine, here: _Loop) -> None:
    try:
        import psycopg  # the `postgres` extra: only a PostgreSQL deployment needs it

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await psycopg.AsyncConnection.connect(
            url, autocommit=True, application_name=APPLICATION_NAME
        )
        try:  # this connection's own setting: the pool's threads commit as configured
            await connection.execute("SET synchronous_commit TO off")
        except BaseException:
            await connection.close()
            raise
        here.connection = connection
    except Exception as exc:  # noqa: BLE001 - the writes go on from threads
        log.warning("no PostgreSQL connection for the event loop's writes: %s", exc)
        here.retry_at = here.loop.time() + RETRY_SECONDS
    finally:
        here.opening = None
    if _BY_ENGINE.get(engine) is not here:  # disposed meanwhile
        _detach(here, here.connection)


def _disposed(engine: Engine) -> None:
    """The engine's pool was disposed (maybe from a thread): its loop connection goes too."""
    here = _BY_ENGINE.pop(engine, None)
    if here is not None:
        _on_its_loop(here, _detach, here, here.connection)


def _detach(here: _Loop, connection: Any, *, retry: bool = False) -> None:
    """`connection` is here no more; closed now unless a statement is on it (`write` closes
    it then)."""
    if here.connection is connection:
        here.connection = None
        if retry and not here.loop.is_closed():
            here.retry_at = here.loop.time() + RETRY_SECONDS
    if not here.busy:
        _close(here, connection)


def _close(here: _Loop, connection: Any) -> None:
    """Closed at once (what psycopg's `AsyncConnection.close` does without a pool): never
    while a statement runs on it (`write` closes it after)."""
    if connection is not None and not connection.closed:
        connection.pgconn.finish()


def _unusable(connection: Any) -> bool:
    from psycopg import pq

    idle = connection.info.transaction_status == pq.TransactionStatus.IDLE
    return bool(connection.broken or connection.closed or not idle)


def _on_its_loop(here: _Loop, call: Any, *args: Any) -> None:
    """`call(*args)` on `here`'s loop when it runs in another thread, else at once."""
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    if current is not here.loop and here.loop.is_running():
        try:
            here.loop.call_soon_threadsafe(call, *args)
            return
        except RuntimeError:  # closed meanwhile
            pass
    call(*args)
