"""The agent's desk: wrap-up settings of services, quick replies, conversation tags and codes.

Revision ID: 0008
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("services", sa.Column("wrapup", sa.JSON))
    op.create_table(
        "quick_replies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("shortcut", sa.String(41), nullable=False, index=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="CASCADE")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(60), primary_key=True),
        sa.Column("service", sa.String(100)),
        sa.Column("agent", sa.String(100)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_labels_value", "conversation_labels", ["kind", "value"])


def downgrade() -> None:
    op.drop_index("ix_conversation_labels_value", "conversation_labels")
    op.drop_table("conversation_labels")
    op.drop_table("quick_replies")
    op.drop_column("services", "wrapup")
