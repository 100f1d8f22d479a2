"""Each service's totals since it began, kept by the writers: the metrics scrape's counters
(abandoned, answered, answered within the answer time) were counted from every queue entry ever
made at every scrape (store/queue_figures.py), a cost growing without bound. From this revision
the transaction that picks up or abandons an entry adds it to its service's row
(store/service_totals.py); this migration makes the rows from the entries before it, counting a
pickup as within the target by each service's answer time at the upgrade (the only one known).
A service without an answered or abandoned entry gets its row at its first count.

`service_id` has no foreign key to `services`: on PostgreSQL a row's insert would take a KEY
SHARE lock on its service, which a dispatch holds FOR UPDATE while it waits for the agent a
claim holds (store/routing.py `_lock`: claims lock no service), a deadlock. A service's delete
removes its row (store/service_removal.py `detach`).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_WAITED = {
    "postgresql": "EXTRACT(EPOCH FROM e.picked_up_at - e.enqueued_at)",
    "sqlite": "(julianday(e.picked_up_at) - julianday(e.enqueued_at)) * 86400.0",
}
"""Seconds from enqueue to pickup, by dialect (as store/queue_figures.seconds_between)."""

BACKFILL = """
INSERT INTO service_totals (service_id, abandoned, answered, answered_within_target)
SELECT s.id,
       SUM(CASE WHEN e.status = 'abandoned' THEN 1 ELSE 0 END),
       SUM(CASE WHEN e.picked_up_at IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN e.picked_up_at IS NOT NULL AND {waited} <= s.answer_time_seconds
                THEN 1 ELSE 0 END)
FROM services s JOIN queue_entries e ON e.service_id = s.id
WHERE e.status = 'abandoned' OR e.picked_up_at IS NOT NULL
GROUP BY s.id
"""
"""Every service's totals from its entries (`dialect` names the date arithmetic)."""


def backfill_sql(dialect: str) -> str:
    return BACKFILL.format(waited=_WAITED[dialect])


def upgrade() -> None:
    op.create_table(
        "service_totals",
        sa.Column("service_id", sa.String(40), primary_key=True),
        sa.Column("abandoned", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("answered", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("answered_within_target", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(backfill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table("service_totals")
