"""Voicemails ("Caixa Postal"): what customers left when nobody could answer.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voicemails",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("bot", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_voicemails_service", "voicemails", ["service_id", "created_at"])


def downgrade() -> None:
    op.drop_table("voicemails")
