"""Each service's totals since it began (abandoned, answered, answered within the answer time),
kept in SQL for the metrics scrape's counters (store/queue_figures.py `service_figures`).

Counting them from `queue_entries` at every scrape read every entry ever made, a cost growing
without bound; so the writer that answers or abandons an entry adds it to its service's row
here, in the same transaction as the status change (store/queue.py `claim`, `close_waiting`).
Migration 0023 made the rows from the entries before it.

Whether a pickup counts as within the target is decided once, at the pickup, against the
service's answer time then in force (read in the same statement): editing the answer time
later rewrites no history, and no counter ever goes down (Prometheus counters must not). So
after such an edit `answered_within_target` and `store.queue.metrics` (which recounts every
entry against today's answer time) may differ; migration 0023 counted the entries before it
against the answer time at the upgrade. A deleted service's row goes with it
(store/service_removal.py; its entries stay, detached, as history for nobody).

The row is written last in its transaction (after the entry and its offers), so a writer
holding it waits only for its own commit (and the NOTIFY's lock there); and it has no foreign
key to `services` (migration 0023): claims lock no service row, which a dispatch may hold
while it waits for their agent.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from store.tables import queue_entries, service_totals, services

Totals = tuple[int, int, int]
"""(abandoned, answered, answered within the answer time) of one service."""

_waited = sa.bindparam("t_waited", type_=sa.Float)
_COLUMNS = ["service_id", "abandoned", "answered", "answered_within_target"]


def _add(dialect: str, *, picked_up: bool) -> sa.Insert:
    """The entry's service's row raised by one pickup (within the target when the entry's wait,
    `t_waited` seconds, is at most the service's answer time) or one abandonment; the row is
    made at its service's first count."""
    one, zero = sa.literal_column("1", sa.Integer), sa.literal_column("0", sa.Integer)
    counts: list[sa.ColumnElement[int]]
    if picked_up:
        counts = [zero, one, sa.case((_waited <= services.c.answer_time_seconds, one), else_=zero)]
    else:
        counts = [one, zero, zero]
    counted = (
        sa.select(services.c.id, *counts)
        .join(queue_entries, queue_entries.c.service_id == services.c.id)
        .where(queue_entries.c.id == sa.bindparam("t_entry"))
    )  # the WHERE also keeps SQLite's INSERT … SELECT … ON CONFLICT unambiguous (it needs one)
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(service_totals)
    statement = statement.from_select(_COLUMNS, counted)
    return statement.on_conflict_do_update(
        index_elements=["service_id"],
        set_={name: service_totals.c[name] + statement.excluded[name] for name in _COLUMNS[1:]},
    )


_ANSWERED = {dialect: _add(dialect, picked_up=True) for dialect in ("postgresql", "sqlite")}
_ABANDONED = {dialect: _add(dialect, picked_up=False) for dialect in ("postgresql", "sqlite")}
"""Built once, by dialect (store/hand_over.py's reasoning: every pickup runs one)."""


def answered(conn: Connection, entry_id: str, waited_seconds: float) -> None:
    """The entry was picked up after `waited_seconds` in line: count it in its service's totals,
    within the target when that is at most the service's answer time now. In the caller's
    transaction, after the status change."""
    conn.execute(_ANSWERED[conn.dialect.name], {"t_entry": entry_id, "t_waited": waited_seconds})


def abandoned(conn: Connection, entry_id: str) -> None:
    """The waiting entry was abandoned: count it in its service's totals (caller's transaction)."""
    conn.execute(_ABANDONED[conn.dialect.name], {"t_entry": entry_id})


def totals(conn: Connection) -> dict[str, Totals]:
    """service id → its totals (a service with nothing counted yet has no row: zeros)."""
    rows = conn.execute(sa.select(service_totals)).all()
    return {
        row.service_id: (row.abandoned, row.answered, row.answered_within_target) for row in rows
    }
