"""The queue order as an index: waiting lists are read in `coalesce(rank_at, enqueued_at), id`
order (store/queue.rank_order), which an index on `rank_at` alone cannot give; with 10,000
waiting, `next` sorted them all (a temporary B-tree) on every call. And the estimated wait's
"latest answered / latest finished of the service" (store/wait_history.py), which read every
entry of the service (10,000 waiting: ~17-27 ms per queued customer).

Revision ID: 0014
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_queue_entries_service_status_rank", table_name="queue_entries")
    op.create_index(
        "ix_queue_entries_service_status_order",
        "queue_entries",
        ["service_id", "status", sa.text("coalesce(rank_at, enqueued_at)"), "id"],
    )
    op.create_index("ix_queue_entries_service_picked", "queue_entries", ["service_id", "picked_up_at"])
    op.create_index(
        "ix_queue_entries_service_status_ended", "queue_entries", ["service_id", "status", "ended_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_queue_entries_service_status_ended", table_name="queue_entries")
    op.drop_index("ix_queue_entries_service_picked", table_name="queue_entries")
    op.drop_index("ix_queue_entries_service_status_order", table_name="queue_entries")
    op.create_index(
        "ix_queue_entries_service_status_rank", "queue_entries", ["service_id", "status", "rank_at"]
    )
