"""A conversation's queue entries by service: the supervisor's scope asks, for each audit
action or searched conversation, whether its conversation was ever queued in one of the
caller's services (store/supervision.py `in_services`). With only `conversation_id` indexed,
SQLite's planner walked `ix_queue_entries_service_picked` for each row instead: a supervisor's
audit took 11 s at 20,000 entries and 3,000 actions. This index answers the EXISTS from the
index alone; it also serves every lookup by conversation, so it replaces the single-column one.

Revision ID: 0024
Revises: 0023
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_queue_entries_conversation_service",
        "queue_entries",
        ["conversation_id", "service_id"],
    )
    op.drop_index("ix_queue_entries_conversation_id", table_name="queue_entries")


def downgrade() -> None:
    op.create_index("ix_queue_entries_conversation_id", "queue_entries", ["conversation_id"])
    op.drop_index("ix_queue_entries_conversation_service", table_name="queue_entries")
