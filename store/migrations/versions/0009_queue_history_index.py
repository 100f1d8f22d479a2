"""Queue entries by enqueue time: the supervisor's period figures and half-hour history read a
time range across services (store/service_history.py).

Revision ID: 0009
Revises: 0004
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_queue_entries_enqueued_at", "queue_entries", ["enqueued_at"])


def downgrade() -> None:
    op.drop_index("ix_queue_entries_enqueued_at", table_name="queue_entries")
