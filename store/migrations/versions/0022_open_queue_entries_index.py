"""The open queue entries as a partial index: the supervisor's live figures (every 3 s) and the
metrics scrape count the waiting and in-service entries per service and the first in line's
enqueue time (store/queue_figures.py), which read every entry ever made through
`ix_queue_entries_service_status`. This index holds the open ones only; a query repeating its
predicate with literals (no bound parameters) reads it on SQLite and PostgreSQL.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_OPEN = sa.text("status IN ('waiting', 'in_service')")


def upgrade() -> None:
    op.create_index(
        "ix_queue_entries_open",
        "queue_entries",
        ["service_id", "status", "enqueued_at"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_queue_entries_open", table_name="queue_entries")
