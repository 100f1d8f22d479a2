"""The SQL database: engine creation and migrations (SQLite by default, PostgreSQL by URL).

SQLite allows one writer at a time. Left to itself, a writer that finds the file locked sleeps
in SQLite's busy handler (1, 2, 5 ... 100 ms naps) and tries again: with dozens of activity
threads writing at once, writers nap while the lock is free and a write can wait many seconds
(the overload spiral of bench/README.md). So each SQLite engine has one writer per process: a
transaction takes a process-wide lock at its first write statement and gives it back when it
commits or rolls back; the next writer wakes as soon as the lock is free. Reads never take it
(WAL lets them run beside the writer). Between processes (API and worker) the busy timeout
still decides.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError, InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_SECONDS = 30.0
"""How long a SQLite writer waits for the file (another process) or this process's writer lock."""
WRITE_VERBS = ("insert", "update", "delete", "replace")
PING_AFTER_IDLE_SECONDS = 0.5
"""A pooled PostgreSQL connection idle longer than this is pinged before use (`ping_when_idle`)."""
_IDLE_SINCE = "transbordo_idle_since"
_HOLDS_WRITER_LOCK = "transbordo_holds_writer_lock"
_DEADLINE = "transbordo_write_deadline"
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """An engine with the settings each backend needs to be safe under concurrency (on
    PostgreSQL, `ping_when_idle` with `ping_after_idle` seconds)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
            hide_parameters=True,  # a SQL error's text reaches logs: no customer's words in it
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cur.close()

        one_writer(engine)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # The newest first: the rest may idle out. A SQL error's text reaches logs: no values.
    engine = create_engine(url, pool_use_lifo=True, hide_parameters=True)
    ping_when_idle(engine, ping_after_idle)
    event.listen(engine, "before_cursor_execute", _refuse_writes)  # on `reads` connections
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with a ping (`SELECT 1`) when it comes out of the pool after
    more than `idle_seconds` there; a dead one is replaced before use.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip before each request's
    SQL (0.12 ms on loopback, a whole network round trip against a managed server), and the
    API checks out a connection at least once per message. A connection given back moments ago
    worked moments ago, so, as HikariCP's `aliveBypassWindowMs` (500 ms) does, only older ones
    are pinged; the pool hands out the most recently used first (`pool_use_lifo`), so under
    load the same few stay warm. What that leaves: after a server restart, a request that gets
    a connection used within the window fails once; that failure (or a failed ping) makes the
    pool start afresh, so the next requests get new connections (tests/test_db_liveness.py)."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _back(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) <= idle_seconds:
            return
        try:
            dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as exc:  # the pool connects anew and tries again
            if dialect.is_disconnect(exc, dbapi, None):  # the server restarted: all are stale
                raise InvalidatePoolError(f"pooled connection lost: {exc}") from exc
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def reads(engine: Engine) -> Connection:
    """A connection for reads only: `with reads(engine) as conn:`.

    On PostgreSQL at READ COMMITTED (its default, and ours) it runs in autocommit: each
    statement is its own transaction, which is all a read gets at that level anyway (every
    statement takes a snapshot of its own), without the BEGIN before the first statement and
    the ROLLBACK when the pool takes the connection back: two round trips fewer per read. With
    no rollback either, psycopg keeps a read's server-side prepared statement (after 5 runs)
    instead of dropping them all. A lookup on loopback: 455–518 µs → 285–292 µs for the round
    trips, 234–247 µs with the preparation (bench/README.md, fourteenth pass). On engines
    from `make_engine`, a statement that is not a plain read (`_read_only`) is refused: it
    would commit at once. Elsewhere
    (SQLite; another isolation level) it is `engine.connect()`."""
    conn = engine.connect()
    if engine.dialect.name != "postgresql":
        return conn
    if engine.dialect.default_isolation_level == "READ COMMITTED":  # known once connected
        try:
            conn.execution_options(isolation_level="AUTOCOMMIT", transbordo_reads=True)
        except BaseException:
            conn.close()
            raise
    return conn


def _refuse_writes(
    conn: Connection, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool
) -> None:
    if conn.get_execution_options().get("transbordo_reads") and not _read_only(statement):
        raise RuntimeError(f"not a plain read, through store.db.reads: {statement[:80]!r}")


_READ_VERBS = re.compile(
    r"(?:\s|--[^\n]*\n|/\*.*?\*/)*(?:SELECT|WITH|VALUES|TABLE|SHOW)\b", re.I | re.S
)
_WRITES_WITHIN = re.compile(
    r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b"
    r"|\bFOR\s+KEY\s+SHARE\b|\bINTO\b"
    r"|\b(?:pg_notify|nextval|setval|set_config|pg_(?:try_)?advisory_\w+)\s*\(",
    re.I,
)


@functools.lru_cache(maxsize=1024)  # statements are compiled once: the same strings recur
def _read_only(statement: str) -> bool:
    """A statement that only reads: it starts as a query does (after comments), and no data
    change (a CTE's INSERT, `SELECT ... INTO`), row lock, notice, sequence step, setting
    (`set_config`) or advisory lock hides inside. A check of what our statements are, not a
    parser: a function that writes under another name would pass."""
    return bool(_READ_VERBS.match(statement)) and not _WRITES_WITHIN.search(statement)


def one_writer(engine: Engine) -> threading.RLock:
    """Serialise the write transactions of `engine` in this process (see the module's doc).

    pysqlite opens SQLite's transaction right before the first INSERT/UPDATE/DELETE, so taking
    the lock there covers exactly SQLite's write transaction. Reentrant: a thread that holds it
    and writes through a second connection must not wait on itself (SQLite's busy timeout then
    decides, as without the lock). Once per engine: a second call returns the same lock."""
    if engine in _WRITER_LOCKS:
        return _WRITER_LOCKS[engine]
    lock = _WRITER_LOCKS[engine] = threading.RLock()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(
        conn: Connection, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool
    ) -> None:
        if conn.info.get(_HOLDS_WRITER_LOCK) or not is_write(statement):
            return
        deadline = conn.info.get(_DEADLINE)
        wait = BUSY_TIMEOUT_SECONDS if deadline is None else max(deadline - time.monotonic(), 0)
        if not lock.acquire(timeout=wait):
            raise sqlite3.OperationalError("database is locked (this process's writer lock)")
        conn.info[_HOLDS_WRITER_LOCK] = True
        if deadline is not None:  # what is left of it for SQLite's own wait (another process)
            _busy_timeout(conn, max(deadline - time.monotonic(), 0))

    def _commit_and_give_back(conn: Connection) -> None:
        # The event comes before SQLAlchemy's own commit: commit here, so the next writer
        # finds the file free (SQLAlchemy's commit then finds nothing left to commit).
        if conn.info.get(_HOLDS_WRITER_LOCK):
            try:
                conn.connection.dbapi_connection.commit()  # type: ignore[union-attr]
            finally:
                conn.info.pop(_HOLDS_WRITER_LOCK)
                lock.release()

    def _give_back(conn: Connection) -> None:
        if conn.info.pop(_HOLDS_WRITER_LOCK, False):
            lock.release()

    event.listen(engine, "commit", _commit_and_give_back)
    event.listen(engine, "rollback", _give_back)
    return lock


@contextmanager
def writing_until(conn: Connection, deadline: float | None) -> Iterator[None]:
    """On SQLite, `conn`'s writes give up at `deadline` (`time.monotonic()`) with "database is
    locked", instead of waiting BUSY_TIMEOUT_SECONDS at this process's writer lock and then in
    SQLite's busy handler: for a caller with a budget of its own (a local activity holds its
    workflow task while it writes). Elsewhere, or with no `deadline`, nothing changes."""
    if deadline is None or conn.dialect.name != "sqlite":
        yield
        return
    try:
        conn.info[_DEADLINE] = deadline
        yield
    finally:
        if conn.info.pop(_DEADLINE, None) is not None:
            _busy_timeout(conn, BUSY_TIMEOUT_SECONDS)


def _busy_timeout(conn: Connection, seconds: float) -> None:
    """SQLite's busy timeout of `conn`'s connection (a connection setting, not transactional)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")


def is_write(statement: str) -> bool:
    return statement.lstrip()[:7].lower().startswith(WRITE_VERBS)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; safe at every start-up, and on
    PostgreSQL by several processes at once: `run_alembic`)."""
    run_alembic(engine, "upgrade", "head")


MIGRATION_LOCK = 0x7472616E73626F  # "transbo": the PostgreSQL advisory lock key of migrations
"""Every Transbordo process migrating one PostgreSQL database takes this lock first."""


def run_alembic(engine: Engine, action: str, revision: str) -> None:
    """`alembic upgrade|downgrade <revision>` on `engine`, in one transaction. On PostgreSQL
    that transaction first takes an advisory lock (`MIGRATION_LOCK`, released by its commit or
    rollback): replicas starting together on a new database (or a new version) migrate one
    after the other, the later ones finding the schema at head, instead of two creating
    `alembic_version` at once (one died with a UniqueViolation). On SQLite with
    foreign keys off: a batch migration rebuilds a table (create, copy, drop, rename), and the
    drop of a parent table would otherwise fire its children's ON DELETE (agent links deleted,
    queue entries orphaned). The connection is discarded afterwards, so the pool's next one
    has them on again. (No lock on SQLite: its processes are `up`'s, which migrates before it
    starts them.)"""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # outside any transaction: inside one, SQLite ignores this pragma
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                config.attributes["connection"] = connection
                getattr(command, action)(config, revision)
        finally:
            if sqlite:
                connection.invalidate()


def open_database(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine
