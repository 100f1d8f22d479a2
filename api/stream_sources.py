"""Where the stream hub hears of changes: one per API process, whatever the number of streams.

- PostgreSQL: one `LISTEN` connection (psycopg 3, async) on the channels of store/notify.py;
  writers `NOTIFY` in their own transactions, so a notice arrives once the rows are visible.
- SQLite: one poller, every `POLL_SECONDS` while at least one stream is open. It reads the rows
  of conversations watched since its last poll (each once), then asks SQLite's change counter
  (`PRAGMA data_version`, which moves when another connection commits) and reads on only when it
  moved: the messages whose rowid is above the last seen, the conversation rows whose
  `row_version` is above the highest seen (raised by triggers whenever a row's status, block or
  status seq is written, migration 0025: a handoff without a message, an end), and a version of
  the waiting list (its newest rowid and open counts). What changed is read, not what is
  watched: idle (no stream newly watched, the counter still) it reads the counter only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from api.stream_hub import StreamHub
from store.notify import LOG_CHANNEL, QUEUE_CHANNEL, TYPING_CHANNEL

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
RECONNECT_SECONDS = (1.0, 30.0)
"""The PostgreSQL listener's first and longest wait before it connects again."""
APPLICATION_NAME = "transbordo-api-listen"
"""How the listener's connection shows in `pg_stat_activity`."""
QUIET_SECONDS = 15.0
"""After this long without a notice the listener asks its server (`SELECT 1`, in as long): a
connection a failover or a network drop left silently dead is found and replaced, not waited on
until TCP gives up (hours)."""

ROWS_CHUNK = 500
"""Conversation ids per `IN (...)` when the poller reads newly watched conversations' rows."""


class PostgresListener:
    def __init__(self, engine: Engine) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listening = False

    async def run(self, hub: StreamHub) -> None:
        first, longest = RECONNECT_SECONDS
        delay = first
        while True:
            self._listening = False
            try:
                await self._listen(hub)
            except Exception as exc:  # noqa: BLE001 - any failure: the feed is retried, never lost
                hub.feeding.clear()
                if self._listening:  # it worked for a while: this outage starts from the first wait
                    delay = first
                log.warning("stream feed lost (%r); listening again in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def _listen(self, hub: StreamHub) -> None:
        """Until the connection fails, or stops answering (`SELECT 1` when quiet)."""
        import psycopg

        conn = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, application_name=APPLICATION_NAME, connect_timeout=10,
            keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
        )  # fmt: skip
        try:  # notices psycopg reads during its own statements (LISTEN, SELECT 1) come here
            conn.add_notify_handler(lambda notice: _tell(hub, notice.channel, notice.payload))
            await conn.execute(f"LISTEN {LOG_CHANNEL}")
            await conn.execute(f"LISTEN {QUEUE_CHANNEL}")
            await conn.execute(f"LISTEN {TYPING_CHANNEL}")
            self._listening = True
            hub.wake_all()  # what changed before we listened is read by every stream now
            while True:
                await _hear(conn, hub, QUIET_SECONDS)
                await asyncio.wait_for(conn.execute("SELECT 1"), QUIET_SECONDS)
        finally:
            conn.pgconn.finish()  # at once: a dead server's close would wait on the network


async def _hear(conn: Any, hub: StreamHub, seconds: float) -> None:
    """Tell `hub` the notices that arrive on the idle `conn` for `seconds`: a reader on its
    socket hands them over as libpq parses them, until the connection fails (raised).

    psycopg's `notifies()` sets up and tears down a wait (a reader, a future, a timeout) for
    each notice, and every turn's write sends one: that was ~0.15 ms of the API's CPU per turn
    on the bench machine (py-spy of the API under `bench/turn_breakdown.py`, PostgreSQL), this
    reader ~0.06."""
    loop = asyncio.get_running_loop()
    pgconn, encoding = conn.pgconn, conn.info.encoding
    failed: asyncio.Future[None] = loop.create_future()

    def parsed() -> None:
        while (notice := pgconn.notifies()) is not None:
            _tell(hub, notice.relname.decode(encoding), notice.extra.decode(encoding))

    registered = False

    def readable() -> None:
        nonlocal registered
        try:
            pgconn.consume_input()
            parsed()
        except Exception as exc:  # noqa: BLE001 - the connection's failure, for `run`
            # libpq has closed the socket already: its number is unregistered now, never
            # later (the OS may hand the number to a new socket meanwhile, whose reader a
            # later removal would take, or raise on: a transport's)
            loop.remove_reader(socket)
            registered = False
            if not failed.done():
                failed.set_exception(exc)

    parsed()  # read already with a statement's answer: the socket may not wake for them
    socket = pgconn.socket
    loop.add_reader(socket, readable)
    registered = True
    try:
        await asyncio.wait_for(failed, seconds)
    except TimeoutError:
        return
    finally:
        if registered:
            loop.remove_reader(socket)


def _tell(hub: StreamHub, channel: str, payload: str) -> None:
    if channel == LOG_CHANNEL:
        hub.log_changed(payload.rpartition(":")[0])
    elif channel == TYPING_CHANNEL:
        conversation_id, _, side = payload.rpartition(":")
        hub.typing(conversation_id, side)
    else:
        hub.queue_changed()


@dataclass
class Changes:
    conversations: set[str] = field(default_factory=set)
    queue: bool = False


_ROWS = sa.text(
    "SELECT id, status, block, status_seq FROM conversations WHERE id IN :ids"
).bindparams(sa.bindparam("ids", expanding=True))
_MOVED = sa.text(
    "SELECT id, status, block, status_seq, row_version FROM conversations"
    " WHERE row_version > :after ORDER BY row_version"
)
"""The rows written since the poller's last read (`ix_conversations_row_version`): watched or
not, they are the commits' own, so a tick costs what changed, not what is watched."""


class SqlitePoller:
    def __init__(self, engine: Engine, every: float = POLL_SECONDS) -> None:
        self._engine, self._every = engine, every

    async def run(self, hub: StreamHub) -> None:
        while True:
            await hub.streams_opened.wait()
            cursor = _Cursor(self._engine)
            await asyncio.to_thread(cursor.open)
            hub.wake_all()  # changes before the cursor was placed are read by every stream
            try:
                while hub.open_streams:
                    await asyncio.sleep(self._every)
                    changes = await self._changes(cursor, hub)
                    for conversation_id in changes.conversations:
                        hub.log_changed(conversation_id)
                    if changes.queue:
                        hub.queue_changed()
            finally:
                hub.feeding.clear()
                await asyncio.to_thread(cursor.close)

    async def _changes(self, cursor: _Cursor, hub: StreamHub) -> Changes:
        watched, queue = hub.watched_conversations(), hub.queue_watched
        try:
            return await asyncio.to_thread(cursor.changes, watched, queue)
        except sa.exc.OperationalError as exc:  # e.g. the file is busy: try at the next tick
            log.warning("stream poll failed: %s", exc)
            return Changes()


class _Cursor:
    """The poller's own connection (SQLite's change counter is per connection) and where it
    has read up to. Runs in a thread; one call at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: sa.Connection | None = None
        self._version: int | None = None
        self._rowid = 0
        self._queue: tuple[object, ...] | None = None
        self._rows: dict[str, tuple[object, ...]] = {}
        """Watched conversation → its row's (status, block, status_seq) when last read."""
        self._row_version = 0
        """The highest `conversations.row_version` read."""
        database = engine.url.database
        self._shared_memory = not database or database == ":memory:"
        """An in-memory database shares one connection: its counter never moves; always read."""

    def open(self) -> None:
        self._conn = self._engine.connect()
        self._version = self._data_version()
        self._rowid = self._conn.scalar(sa.text("SELECT coalesce(max(rowid), 0) FROM messages"))
        self._row_version = self._conn.scalar(
            sa.text("SELECT coalesce(max(row_version), 0) FROM conversations")
        )
        self._queue = self._queue_version()
        self._conn.rollback()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def changes(self, watched: list[str], queue: bool) -> Changes:
        assert self._conn is not None
        # the rows of conversations watched since the last poll, read before the counter: if it
        # did not move, nothing changed them since the last poll, and they are known without a
        # wake (a stream reads its row once it is watched); if it moved, they wake their streams
        new = [id_ for id_ in watched if id_ not in self._rows]
        fresh = self._read_rows(new) if new else {}
        version = self._data_version()
        if version == self._version and not self._shared_memory:
            self._rows.update(fresh)
            self._conn.rollback()
            return Changes()
        found = Changes()
        rows = self._conn.execute(
            sa.text(
                "SELECT rowid, conversation_id FROM messages WHERE rowid > :last ORDER BY rowid"
            ),
            {"last": self._rowid},
        ).all()
        moved = self._conn.execute(_MOVED, {"after": self._row_version}).all()
        if queue:
            current = self._queue_version()
            found.queue, self._queue = current != self._queue, current
        self._conn.rollback()
        # only once all is read: a failed read is read again at the next poll
        self._version = version
        if rows:
            self._rowid = rows[-1][0]
            found.conversations.update(row[1] for row in rows)
        found.conversations.update(self._rows_changed(watched, fresh, moved))
        return found

    def _data_version(self) -> int:
        assert self._conn is not None
        return int(self._conn.exec_driver_sql("PRAGMA data_version").scalar_one())

    def _rows_changed(
        self, watched: list[str], fresh: dict[str, tuple[object, ...]], moved: Sequence[sa.Row[Any]]
    ) -> set[str]:
        """Watched conversations whose row moved since the last read (`moved`, the rows written
        since: a status written with no message, a silent handoff, an end), and those newly
        watched (`fresh`: a stream may have read its row before the change the counter shows).
        Conversations no longer watched are forgotten."""
        wanted = set(watched)
        for gone in self._rows.keys() - wanted:
            del self._rows[gone]
        self._rows.update(fresh)
        changed = set(fresh)
        for row in moved:
            self._row_version = max(self._row_version, row.row_version)
            now = (row.status, row.block, row.status_seq)
            if row.id in wanted and self._rows.get(row.id) != now:
                changed.add(row.id)
                self._rows[row.id] = now
        return changed

    def _read_rows(self, ids: list[str]) -> dict[str, tuple[object, ...]]:
        assert self._conn is not None
        chunks = [ids[at : at + ROWS_CHUNK] for at in range(0, len(ids), ROWS_CHUNK)]
        return {
            row[0]: tuple(row[1:])
            for chunk in chunks
            for row in self._conn.execute(_ROWS, {"ids": chunk})
        }

    def _queue_version(self) -> tuple[object, ...]:
        """Changes whenever an entry is added (rowid) or leaves waiting or in service (counts):
        no combination of claims, closes and finishes leaves both counts unchanged; likewise
        an offer made (rowid) or ended (open count), and an entry in service given to another
        agent (who serves each, in order)."""
        assert self._conn is not None
        row = self._conn.execute(
            sa.text(
                "SELECT coalesce(max(rowid), 0),"
                " coalesce(sum(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN status = 'in_service' THEN 1 ELSE 0 END), 0)"
                " FROM queue_entries"
            )
        ).one()
        offered = self._conn.execute(
            sa.text(
                "SELECT coalesce(max(rowid), 0),"
                " coalesce(sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) FROM offers"
            )
        ).one()
        serving = self._conn.scalar(  # a supervisor's reassign changes no count: who serves
            sa.text(
                "SELECT group_concat(agent_id) FROM (SELECT agent_id FROM queue_entries"
                " WHERE status = 'in_service' ORDER BY rowid)"
            )
        )
        return (row[0], row[1], row[2], offered[0], offered[1], serving)
