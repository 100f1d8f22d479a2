"""Routing: automatic assignment (offers), priority with aging, skills, agents away.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("assignment", sa.String(16), nullable=False, server_default="manual")
        )
        batch.add_column(sa.Column("offer_seconds", sa.Integer, nullable=False, server_default="30"))
        batch.add_column(sa.Column("max_lapses", sa.Integer, nullable=False, server_default="3"))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("skills", sa.JSON, nullable=True))
        batch.add_column(sa.Column("lapses", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("queue_entries") as batch:
        batch.add_column(sa.Column("priority", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("skills", sa.JSON, nullable=True))
        batch.add_column(sa.Column("rank_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE queue_entries SET rank_at = enqueued_at")
    op.create_index(
        "ix_queue_entries_service_status_rank", "queue_entries", ["service_id", "status", "rank_at"]
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "entry_id",
            sa.String(40),
            sa.ForeignKey("queue_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'lapsed', 'withdrawn')",
            name="ck_offers_status",
        ),
    )
    op.create_index(
        "uq_offers_open_entry",
        "offers",
        ["entry_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_offers_agent_status", "offers", ["agent_id", "status"])


def downgrade() -> None:
    op.drop_table("offers")
    op.drop_index("ix_queue_entries_service_status_rank", "queue_entries")
    with op.batch_alter_table("queue_entries") as batch:
        batch.drop_column("rank_at")
        batch.drop_column("skills")
        batch.drop_column("priority")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("lapses")
        batch.drop_column("skills")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("max_lapses")
        batch.drop_column("offer_seconds")
        batch.drop_column("assignment")
