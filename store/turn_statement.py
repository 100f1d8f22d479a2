"""A turn's write as one PostgreSQL statement: `record_turn`'s UPDATE, INSERT and NOTIFY joined
by data-modifying CTEs, run in autocommit:

    WITH raised AS (UPDATE conversations ... RETURNING id),
         entered AS (INSERT INTO messages SELECT ... FROM (VALUES ...)
                     WHERE (SELECT count(*) FROM raised) >= 0 ON CONFLICT DO NOTHING)
    SELECT pg_notify(...)

One statement is its own transaction: no BEGIN and no COMMIT to send, one round trip, and
psycopg's pipeline machinery left out. On loopback it took 0.25 ms against 0.53 ms for the same
three statements pipelined in a transaction, and 46 µs of the client's CPU against 220
(bench/README.md, fourteenth pass).

The order of the locks is the point of the `WHERE`: PostgreSQL runs a data-modifying CTE that
nothing reads at the end, in no promised order (it ran the INSERT first), while every other
writer of the log (the workflow's `record_on`, a long turn's transaction) locks the
conversation's row before it inserts entries. An INSERT first meets a concurrent record of the
same seqs the other way round: a deadlock (tests/test_turn_statement.py). Reading `raised`
makes the INSERT wait for the UPDATE to finish; the count is never negative, so the rows go in
whether or not the row was there to update. The NOTIFY goes out at commit, as before. A first
message writes its conversation's row the same way, by an INSERT in the UPDATE's place
(store/row_raises.py `FIRST_TURN`: an UPDATE would not see a row the same statement inserts):
it inserts the row, or raises the one the workflow recorded first as the UPDATE would.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert, Update

from store import notify
from store.prepared import prepared
from store.tables import conversations, messages

MAX_ENTRIES = 16
"""Turns with more entries than this take the transaction (one statement per entry count is
compiled and kept, per engine)."""


def compiled_turn(
    engine: Engine,
    update: Update | Insert,
    values: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    notice: Mapping[str, str],
) -> tuple[str, Any]:
    """`update` (a module-level statement: store/row_raises.py) with `values`, the messages'
    `rows` (at most MAX_ENTRIES, skipping those already there) and the log's NOTIFY with
    `notice`, as one statement: its SQL and parameters, for an autocommit connection (a pooled
    one's cursor in a thread, or the event loop's own: store/loop_statements.py)."""
    statement = _statement(update, len(rows))
    params = {**values, **notice}
    for index, row in enumerate(rows):
        params.update({f"{name}_{index}": value for name, value in row.items()})
    compiled = prepared(statement, engine)
    return compiled.sql, compiled.parameters(params)


@functools.cache  # per (module-level statement, entry count): at most 4 × MAX_ENTRIES
def _statement(update: Update | Insert, count: int) -> sa.Select[Any]:
    raised = update.returning(conversations.c.id).cte("raised")
    after_raised = sa.select(sa.func.count()).select_from(raised).scalar_subquery()
    columns = [sa.column(c.name, c.type) for c in messages.c]
    rows = sa.values(*columns, name="turn").data(
        [tuple(sa.bindparam(f"{c.name}_{i}", type_=c.type) for c in columns) for i in range(count)]
    )
    entered = (
        postgresql.insert(messages)
        .from_select(
            [c.name for c in messages.c],
            sa.select(rows).where(after_raised >= sa.literal_column("0")),
        )
        .on_conflict_do_nothing(index_elements=["conversation_id", "seq"])
    )
    return notify.NOTIFY.add_cte(raised, entered.cte("entered"))
