"""Channel connectors (WhatsApp, Telegram: per bot, secrets encrypted) and delivery statuses.

Revision ID: 0007
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_connectors",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("bot", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(100)),
        sa.Column("secrets", sa.Text, nullable=False),
        sa.Column("template_name", sa.String(512)),
        sa.Column("template_language", sa.String(16)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("bot", "platform", name="uq_channel_connectors_bot_platform"),
    )
    op.create_table(
        "channel_deliveries",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("platform_message_id", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_channel_deliveries_platform_message_id",
        "channel_deliveries",
        ["platform_message_id"],
    )


def downgrade() -> None:
    op.drop_table("channel_deliveries")
    op.drop_table("channel_connectors")
