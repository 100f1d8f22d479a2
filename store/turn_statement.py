"""A turn's write as one PostgreSQL statement: `record_turn`'s UPDATE, INSERT and NOTIFY joined
by data-modifying CTEs (`WITH raised AS (UPDATE ...), entered AS (INSERT ...) SELECT
pg_notify(...)`), run in autocommit.

One statement is its own transaction: no BEGIN and no COMMIT to send, one round trip, and
psycopg's pipeline machinery left out. On loopback it took 0.25 ms against 0.53 ms for the same
three statements pipelined in a transaction, and 46 µs of the client's CPU against 220
(bench/README.md, fourteenth pass). PostgreSQL runs every sub-statement of a WITH to
completion exactly once, whether or not the main query reads it, all with one snapshot; the
two here touch different tables, so neither needs to see the other's rows. A new
conversation's row is not written this way: the UPDATE would not see a row inserted by the
same statement (`record_turn` keeps its transaction for a first message).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.sql.dml import Update

from store import notify
from store.prepared import prepared
from store.tables import messages

MAX_ENTRIES = 16
"""Turns with more entries than this take the transaction (one statement per entry count is
compiled and kept, per engine)."""

_BUILT: dict[tuple[int, int], tuple[Update, sa.Select[Any]]] = {}


def write_turn(
    cursor: DBAPICursor,
    engine: Engine,
    update: Update,
    values: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    notice: Mapping[str, str],
) -> None:
    """`update` (a module-level statement) with `values`, the messages' `rows` (at most
    MAX_ENTRIES, skipping those already there) and the log's NOTIFY with `notice`, as one
    statement on `cursor` (an autocommit connection's)."""
    statement = _statement(update, len(rows))
    params = {**values, **notice}
    for index, row in enumerate(rows):
        params.update({f"{name}_{index}": value for name, value in row.items()})
    prepared(statement, engine).execute(cursor, params)


def _statement(update: Update, count: int) -> sa.Select[Any]:
    key = (id(update), count)
    built = _BUILT.get(key)
    if built is None:  # the Update is kept with it: its id stays its own
        entered = (
            postgresql.insert(messages)
            .values(
                [
                    {c.name: sa.bindparam(f"{c.name}_{i}", type_=c.type) for c in messages.c}
                    for i in range(count)
                ]
            )
            .on_conflict_do_nothing(index_elements=["conversation_id", "seq"])
        )
        joined = notify.NOTIFY.add_cte(update.cte("raised"), entered.cte("entered"))
        built = _BUILT[key] = (update, joined)
    return built[1]
