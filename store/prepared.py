"""The hottest write without SQLAlchemy's execution machinery: statements compiled once.

Every customer message waits for its turn's write before the API answers (read-your-writes:
`store.conversations.record_turn`). Through a SQLAlchemy `Connection` that write took ~160 µs on
SQLite, the same statements on the cursor ~100 µs (bench/turn_write.py): the rest was
SQLAlchemy's execution bookkeeping (events, execution contexts, results). In the running API,
where that Python runs cold beside the other processes, the write's p50 went from 0.62 to 0.33
ms of a ~10 ms turn (bench/README.md, eleventh pass). The statement is still built with
SQLAlchemy, from the schema's tables, but compiled once per engine and run on the pool's DBAPI
connection with each parameter passed through its column type's own bind processor, so dates
and JSON are stored exactly as SQLAlchemy stores them and every reader reads them back
unchanged. Kept to that write (and a new conversation's row, which a first message writes in
the same transaction: store/new_conversations.py); everything else goes through SQLAlchemy.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from store.db import BUSY_TIMEOUT_SECONDS, one_writer


class Prepared:
    """`statement` compiled for `engine`'s dialect, run on a DBAPI cursor."""

    def __init__(self, statement: ClauseElement, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.statement = statement  # kept alive: `prepared` caches by its id()
        self._compiled = compiled
        self.sql = compiled.string
        self._order = compiled.positiontup  # None for a named paramstyle (psycopg)
        processors = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        self._processors: dict[str, Callable[[Any], Any]] = {
            name: process for name, process in processors.items() if process is not None
        }

    def execute(self, cursor: DBAPICursor, values: Mapping[str, Any]) -> None:
        cursor.execute(self.sql, self.parameters(values))

    def execute_many(self, cursor: DBAPICursor, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.parameters(row) for row in rows])

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """`values` as the driver takes them: through each column type's bind processor."""
        params = self._compiled.construct_params(dict(values))  # raises on a missing value
        for name, process in self._processors.items():
            params[name] = process(params[name])
        return params if self._order is None else [params[name] for name in self._order]


_COMPILED: weakref.WeakKeyDictionary[Engine, dict[int, Prepared]] = weakref.WeakKeyDictionary()


def prepared(statement: ClauseElement, engine: Engine) -> Prepared:
    """`statement` (a module-level constant) compiled for `engine`, once per engine."""
    by_statement = _COMPILED.get(engine)
    if by_statement is None:
        by_statement = _COMPILED[engine] = {}
    found = by_statement.get(id(statement))  # a Prepared keeps its statement alive
    if found is None:
        found = by_statement[id(statement)] = Prepared(statement, engine)
    return found


@contextmanager
def raw_transaction(engine: Engine) -> Iterator[DBAPICursor]:
    """A cursor in a transaction of its own on a pooled connection, committed at the end. On
    SQLite it holds this process's writer lock from after the checkout to the commit or
    rollback (store/db.py: one writer per process; SQLAlchemy's writers also hold their
    connection before the lock). Whatever fails comes out as SQLAlchemy's error
    (`sa.exc.SQLAlchemyError`), as it would from a `Connection`; a connection whose rollback
    fails is not given back to the pool."""
    lock = one_writer(engine) if engine.dialect.name == "sqlite" else None
    with _checked_out(engine) as connection:
        if lock is not None and not lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise sa.exc.OperationalError(None, None, Exception("this process's writer lock"))
        try:
            with _mapped(engine, connection):
                yield connection.cursor()
                connection.commit()
        finally:
            if lock is not None:
                lock.release()


@contextmanager
def raw_statement(engine: Engine) -> Iterator[DBAPICursor]:
    """PostgreSQL: a cursor on a pooled connection in autocommit, for one statement that is
    its own transaction (store/turn_statement.py); errors as `raw_transaction`'s. The
    connection goes back to the pool as it came (not in autocommit)."""
    with _checked_out(engine) as connection, _mapped(engine, connection):
        driver: Any = connection.dbapi_connection  # psycopg's, whose autocommit is settable
        driver.autocommit = True
        try:
            yield connection.cursor()
        finally:
            driver.autocommit = False  # a broken connection refuses: `_mapped` drops it


@contextmanager
def _checked_out(engine: Engine) -> Iterator[PoolProxiedConnection]:
    """A pooled connection, given back at the end (or closed, when invalidated)."""
    driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
    except driver_error as exc:
        raise sa.exc.DBAPIError.instance(None, None, exc, driver_error) from exc
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def _mapped(engine: Engine, connection: PoolProxiedConnection) -> Iterator[None]:
    """What fails inside, rolled back and raised as SQLAlchemy's error. A lost connection
    (the server restarted, a failover) makes the pool start afresh, as a `Connection`'s
    failure does: its other connections are as stale (tests/test_db_liveness.py)."""
    dialect = engine.dialect
    driver_error: type[Exception] = dialect.loaded_dbapi.Error
    driver = connection.dbapi_connection
    try:
        yield
    except BaseException as failure:
        try:
            connection.rollback()
        except driver_error:
            connection.invalidate()
        if isinstance(failure, driver_error):
            if dialect.is_disconnect(cast(Any, failure), driver, None):
                engine.dispose()  # a new pool; the old one's idle connections closed
            raise sa.exc.DBAPIError.instance(None, None, failure, driver_error) from failure
        if isinstance(failure, ValueError | TypeError):  # a value no column takes
            raise sa.exc.StatementError(str(failure), None, None, failure) from failure
        raise


@contextmanager
def pipelined(engine: Engine, cursor: DBAPICursor) -> Iterator[None]:
    """On PostgreSQL (psycopg) the statements run inside go to the server together, in
    psycopg's pipeline mode: one round trip for all instead of one each (a turn of more
    entries than store/turn_statement.py's one statement takes: the row's update, or a first
    message's new row and its update, the entries, the NOTIFY; on loopback each round trip
    cost ~0.15 ms, bench/README.md, thirteenth pass). Their errors come back when the block ends,
    still inside the transaction, so `raw_transaction` maps them and rolls back as before. For
    statements whose results (and `rowcount`) nobody reads; elsewhere (SQLite) nothing
    changes."""
    if engine.dialect.driver != "psycopg" or not _pipelines_supported():
        yield
        return
    with cursor.connection.pipeline():  # psycopg's own cursor
        yield


@functools.cache
def _pipelines_supported() -> bool:
    import psycopg  # the PostgreSQL extra's driver: only asked when the engine uses it

    return bool(psycopg.Pipeline.is_supported())
