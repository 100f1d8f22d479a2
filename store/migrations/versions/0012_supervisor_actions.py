"""The supervisor's actions on live conversations (whisper, barge-in, take-over, reassignment),
audited: who, when, on which conversation, which agent had it, where it went; and the
transcript e-mails sent to customers (one per conversation).

Revision ID: 0012
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervisor_actions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("supervisor", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(100)),
        sa.Column("target", sa.String(100)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_supervisor_actions_conversation",
        "supervisor_actions",
        ["conversation_id", "created_at"],
    )
    op.create_table(
        "transcript_mails",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("transcript_mails")
    op.drop_index("ix_supervisor_actions_conversation", table_name="supervisor_actions")
    op.drop_table("supervisor_actions")
