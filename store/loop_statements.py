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

The connection commits without waiting for the WAL flush (`synchronous_commit` off, asked as
a startup option: a pooler that would share the setting with other clients refuses the
connection instead, and the turns go to threads): the write ahead is for reading one's own
writes; durability is the workflow history's, and its records are the backstop
(api/usecases/log_ahead.py). A crash of the server before the flush takes such commits back.
So the connection keeps whose turns it committed (store/unflushed.py) until a barrier, a
synchronous commit sent on it `BARRIER_SECONDS` after them when it is free, returns: the WAL
is then on disk up to it. When the connection breaks, or a barrier fails or hangs, every turn
not confirmed goes to the writer's `on_lost`, which has its workflow record it again. About
half the statement's time was that flush (bench/README.md, twenty-first pass).
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from store.unflushed import Unflushed

log = logging.getLogger(__name__)

APPLICATION_NAME = "transbordo-api-loop"
"""How the loops' connections show in `pg_stat_activity`."""
RETRY_SECONDS = 5.0
"""After a connection failed to open or broke, turns go to threads this long before the next
attempt: a database that refuses connections is not asked again per message."""
BARRIER_SECONDS = 1.0
"""How long after a turn's commit its flush is confirmed (or found lost): one synchronous
commit a second at most, whatever the traffic."""
BARRIER_TIMEOUT = 10.0
"""A barrier that has not returned by then counts as failed (a server gone silent)."""
BARRIER = (
    "SELECT set_config('synchronous_commit', 'on', true),"
    " pg_logical_emit_message(true, 'transbordo', 'flush barrier'), pg_backend_pid(),"
    " pg_postmaster_start_time()"
)
"""A transaction that writes WAL (a logical message: no table), committed synchronously: it
returns once the WAL is flushed up to its commit record (and on a synchronous standby, where
one is configured), so up to every commit answered before it. One that writes no WAL would
commit without a flush, whatever the setting. The backend's pid and the server's start tell a
session that is not the one the commits were made on (a transaction pooler's new server
connection, a restarted server)."""

SESSION = (
    "SELECT current_setting('synchronous_commit'), pg_backend_pid(), pg_postmaster_start_time(),"
    " has_function_privilege(coalesce("  # PostgreSQL 17 added a fourth argument (`flush`)
    "to_regprocedure('pg_logical_emit_message(boolean, text, text, boolean)'),"
    " to_regprocedure('pg_logical_emit_message(boolean, text, text)')), 'EXECUTE')"
)

OnLost = Callable[[set[str]], None]
"""Told the keys of commits a crash may have taken (on the loop)."""


@dataclass
class _Loop:
    """The loop's connection for one engine."""

    loop: asyncio.AbstractEventLoop
    connection: Any = None  # psycopg.AsyncConnection, once open
    cursor: Any = None
    """The connection's cursor for the turns: one for its life, so its adapters' lookups (the
    parameters' dumpers) are made once, not per turn (`connection.execute` makes a cursor)."""
    opening: asyncio.Task[None] | None = None
    busy: bool = False
    retry_at: float = 0.0
    unflushed: Unflushed = field(default_factory=Unflushed)
    on_lost: OnLost | None = None
    barrier: asyncio.Task[None] | None = None
    free: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while no statement is on the connection (a barrier waits for it)."""
    backend: tuple[Any, ...] | None = None
    """The server process (pid, server start) the connection's commits were made on."""
    due: bool = False
    """A barrier waits for the connection: writes go to threads meanwhile (never starved)."""
    asynchronous: bool = False
    """Its commits do not wait for the flush (the option was taken), so barriers confirm them."""


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, _Loop] = weakref.WeakKeyDictionary()


async def write(
    engine: Engine, sql: str, params: Any, key: str | None = None, on_lost: OnLost | None = None
) -> bool:
    """Run one autocommit statement on the loop's connection: True once done; False when it
    is not there or is taken (nothing sent: write from a thread). Raises what the statement
    raised (the connection is closed if it broke). `key` names the commit to `on_lost` until a
    barrier confirms it flushed."""
    here = _state(engine)
    connection, cursor = here.connection, here.cursor
    if here.busy or here.due or connection is None or connection.closed:
        return False
    _take(here)
    try:
        await cursor.execute(sql, params)
    except BaseException as failure:
        if _unusable(connection):  # lost, or left mid-statement (psycopg's cancel may leave it)
            log.warning("the event loop's PostgreSQL connection failed: %s", failure)
            _detach(here, connection, retry=connection.broken)
            _lose(here)
        raise
    finally:
        _give_back(here, connection)
    if key is not None and here.asynchronous and here.connection is not connection:
        if on_lost is not None:  # retired under it (a dispose): never to be confirmed
            on_lost({key})
    elif key is not None and here.asynchronous:
        here.unflushed.committed(key)
        here.on_lost = on_lost or here.on_lost
        if here.barrier is None:
            here.barrier = here.loop.create_task(_barriers(here))
    return True


def _take(here: _Loop) -> None:
    here.busy = True
    here.free.clear()


def _give_back(here: _Loop, connection: Any) -> None:
    here.busy = False
    here.free.set()
    if here.connection is not connection:  # detached meanwhile (a dispose)
        _close(here, connection)


async def _barriers(here: _Loop) -> None:
    """Confirm the connection's commits, a barrier `BARRIER_SECONDS` after them (once the
    connection is free), while some wait."""
    try:
        while here.unflushed:
            await asyncio.sleep(BARRIER_SECONDS)
            here.due = True
            while here.busy:
                await here.free.wait()
            connection = here.connection
            if connection is None or connection.closed:
                return  # detached: what was not confirmed was told then
            await asyncio.shield(_barrier(here, connection))  # `settle` cancels the wait only
    finally:
        here.barrier = None
        here.due = False


async def barrier(engine: Engine) -> None:
    """A barrier now, if the connection is open and free (tests, ops: `_barriers` runs them)."""
    here = _state(engine)
    connection = here.connection
    if connection is not None and not connection.closed and not here.busy:
        await _barrier(here, connection)


async def _barrier(here: _Loop, connection: Any) -> None:
    _take(here)
    mark = here.unflushed.mark()
    try:
        found = await asyncio.wait_for(_one_row(connection, BARRIER), BARRIER_TIMEOUT)
        if tuple(found[2:]) != here.backend:
            raise ConnectionError(f"the session is another server process's ({found[2:]})")
    except asyncio.CancelledError:  # the loop is closing: the server stays, and flushes
        _detach(here, connection)
        raise
    except Exception as failure:  # noqa: BLE001 - unknown whether the WAL is on disk
        log.warning("the event loop's PostgreSQL connection failed a flush barrier: %r", failure)
        _detach(here, connection, retry=True)
        _lose(here)
        return
    finally:
        here.due = False
        _give_back(here, connection)
    here.unflushed.flushed(mark)


async def _one_row(connection: Any, sql: str) -> Any:
    cursor = await connection.execute(sql)
    return await cursor.fetchone()


async def settle(engine: Engine) -> None:
    """Before the app lets the engine go (its shutdown): confirm what waits, so that the
    dispose after has nothing to report; a failed barrier reports it now."""
    here = _BY_ENGINE.get(engine)
    if here is None or here.loop is not asyncio.get_running_loop():
        return
    if here.barrier is not None:
        here.barrier.cancel()  # a barrier under way finishes (shielded): waited for below
    if here.unflushed:
        try:
            while here.busy:
                await asyncio.wait_for(here.free.wait(), BARRIER_TIMEOUT * 2)
        except TimeoutError:
            _lose(here)  # a statement hung: the server is not answering
            return
        if not here.unflushed:  # that barrier confirmed them
            return
        connection = here.connection
        if connection is not None and not connection.closed:
            await _barrier(here, connection)
        else:
            _lose(here)


def _lose(here: _Loop) -> None:
    """The connection failed (or the pool found the server gone): its commits not confirmed go
    to `on_lost`, on the loop."""
    keys = here.unflushed.take()
    if not keys:
        return
    log.warning("%d turns committed before the connection failed may be lost", len(keys))
    try:
        if here.on_lost is None:
            raise RuntimeError("nobody to tell")
        here.on_lost(keys)
    except Exception as exc:  # noqa: BLE001 - e.g. the loop has stopped: their runs' next record
        log.error("could not report the turns that may be lost (%r): %s", exc, sorted(keys)[:50])


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
            url, autocommit=True, application_name=APPLICATION_NAME, connect_timeout=10,
            keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
            tcp_user_timeout=30_000, options=_options(engine),
        )  # fmt: skip
        try:  # a pooler may have ignored the option: then the commits wait, nothing to confirm
            setting, *backend, may_confirm = await _one_row(connection, SESSION)
            if setting == "off" and not may_confirm:  # no barrier possible: commits must wait
                log.warning("no EXECUTE on pg_logical_emit_message: turns commit synchronously")
                await connection.execute("SET synchronous_commit TO on")
        except BaseException:
            connection.pgconn.finish()
            raise
        here.backend = tuple(backend)
        here.asynchronous = setting == "off" and bool(may_confirm)
        here.cursor = connection.cursor()  # before the connection: `write` takes both
        here.connection = connection
    except Exception as exc:  # noqa: BLE001 - the writes go on from threads
        log.warning("no PostgreSQL connection for the event loop's writes: %s", exc)
        here.retry_at = here.loop.time() + RETRY_SECONDS
    finally:
        here.opening = None
    if _BY_ENGINE.get(engine) is not here:  # disposed meanwhile
        _detach(here, here.connection)


def _options(engine: Engine) -> str:
    """The deployment's own `options` (the URL's, else PGOPTIONS: a keyword replaces both) and
    this connection's `synchronous_commit` off."""
    given = engine.url.query.get("options") or os.environ.get("PGOPTIONS", "")
    mine = "-c synchronous_commit=off"
    return f"{given if isinstance(given, str) else ' '.join(given)} {mine}".strip()


def _disposed(engine: Engine) -> None:
    """The engine's pool was disposed (maybe from a thread): its loop connection goes too, and
    what it had not confirmed is reported (a pooled connection may have found the server gone:
    store/prepared.py disposes then; the app's shutdown `settle`s first)."""
    here = _BY_ENGINE.pop(engine, None)
    if here is not None:
        _on_its_loop(here, _retire, here)


def _retire(here: _Loop) -> None:
    _detach(here, here.connection)
    _lose(here)
    if here.barrier is not None:
        here.barrier.cancel()


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
