"""PostgreSQL: the turn's one statement on the API's event loop, on a connection of its own.

Every customer message waits for its turn's write (store/conversations.py `record_turn`). On
PostgreSQL that write is one statement in autocommit (store/turn_statement.py); run from a
thread, the hop there and back cost about as much as SQLite's whole write (bench/README.md,
fifteenth and sixteenth passes). So, as SQLite's write does (store/loop_writes.py), it runs on
the event loop when it can: over one psycopg `AsyncConnection` per engine and loop, in
autocommit, opened in the background on first use, used by one turn at a time. `write` says
False (nothing sent) while the connection opens or another turn is on it, and the caller
writes from a thread as before; a statement that fails (or is cancelled) on it closes the
connection, which the next write opens again, and its error goes to the caller, whose thread
write repeats the statement (it is idempotent: store/row_raises.py, `ON CONFLICT DO NOTHING`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)


@dataclass
class _Loop:
    """The loop's connection for one engine."""

    loop: asyncio.AbstractEventLoop
    connection: Any = None  # psycopg.AsyncConnection, once open
    opening: asyncio.Task[None] | None = None
    busy: bool = False
    closing: set[asyncio.Task[None]] = field(default_factory=set)


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, _Loop] = weakref.WeakKeyDictionary()
APPLICATION_NAME = "transbordo-api-loop"
"""How the loop's connections show in `pg_stat_activity`."""


async def ready(engine: Engine) -> bool:
    """Whether this loop's connection is open, once it has tried to open."""
    here = _state(engine)
    if here.opening is not None:
        await asyncio.shield(here.opening)
    return here.connection is not None and not here.connection.closed


async def write(engine: Engine, sql: str, params: Any) -> bool:
    """Run one autocommit statement on the loop's connection: True once done; False when it
    is not there or is taken (nothing sent: write from a thread). Raises what the statement
    raised (the connection is then closed)."""
    here = _state(engine)
    connection = here.connection
    if here.busy or connection is None or connection.closed:
        return False
    here.busy = True
    try:
        await connection.execute(sql, params)
    except BaseException:
        _close(here)
        raise
    finally:
        here.busy = False
    return True


def _state(engine: Engine) -> _Loop:
    """This loop's state for `engine`, the connection asked for when it is not open."""
    loop = asyncio.get_running_loop()
    here = _BY_ENGINE.get(engine)
    if here is None or here.loop is not loop:
        if here is not None:
            _close(here)
        here = _BY_ENGINE[engine] = _Loop(loop)
        _close_with(engine)
    if (here.connection is None or here.connection.closed) and here.opening is None:
        here.opening = loop.create_task(_open(engine, here))
    return here


async def _open(engine: Engine, here: _Loop) -> None:
    import psycopg  # the `postgres` extra: only a PostgreSQL deployment needs it

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        here.connection = await psycopg.AsyncConnection.connect(
            url, autocommit=True, application_name=APPLICATION_NAME
        )
    except (psycopg.Error, OSError) as exc:  # the writes go on from threads
        log.warning("no PostgreSQL connection for the event loop's writes: %s", exc)
    finally:
        here.opening = None
    if _BY_ENGINE.get(engine) is not here:  # disposed meanwhile
        _close(here)


def _close(here: _Loop) -> None:
    """Close the connection: on its loop, from any thread; at once when the loop is gone."""
    if here.loop.is_closed() or not here.loop.is_running():
        connection, here.connection = here.connection, None
        if connection is not None and not connection.closed:
            connection.pgconn.finish()
        return
    try:
        on_its_loop = asyncio.get_running_loop() is here.loop
    except RuntimeError:  # a thread's (a pool disposed after a lost connection)
        on_its_loop = False
    if not on_its_loop:
        here.loop.call_soon_threadsafe(_close, here)
        return
    connection, here.connection = here.connection, None
    if connection is None or connection.closed:
        return
    closing = here.loop.create_task(connection.close())
    here.closing.add(closing)
    closing.add_done_callback(here.closing.discard)


def _close_with(engine: Engine) -> None:
    """Closed when the engine's pool is disposed (the app's shutdown, tests' teardown)."""
    if not event.contains(engine, "engine_disposed", _disposed):
        event.listen(engine, "engine_disposed", _disposed)


def _disposed(engine: Engine) -> None:
    here = _BY_ENGINE.pop(engine, None)
    if here is not None:
        _close(here)  # an opening connection closes itself once open (`_open`)
