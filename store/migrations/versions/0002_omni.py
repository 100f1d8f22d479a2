"""Omni: services (with transfer groups), integrations, agents and the waiting list.

Revision ID: 0002
Revises: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _service_fk(column: str, ondelete: str, **kw: Any) -> sa.Column[str]:
    return sa.Column(column, sa.String(40), sa.ForeignKey("services.id", ondelete=ondelete), **kw)


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("service_level_percent", sa.Integer, nullable=False),
        sa.Column("answer_time_seconds", sa.Integer, nullable=False),
        sa.Column("abandon_seconds", sa.Integer, nullable=False),
        sa.Column("voicemail_seconds", sa.Integer, nullable=False),
        sa.Column("extension", sa.String(3)),
        sa.Column("agent_screen", sa.Boolean, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("webhook_enabled", sa.Boolean, nullable=False),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_secret", sa.Text),
        sa.Column("queue_notifications", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_services_name"),
        sa.UniqueConstraint("extension", name="uq_services_extension"),
    )
    op.create_table(
        "service_transfer_targets",
        _service_fk("service_id", "CASCADE", primary_key=True),
        _service_fk("target_id", "CASCADE", primary_key=True),
    )
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("bot", sa.String(64), nullable=False),
        _service_fk("service_id", "SET NULL"),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("key_hash", name="uq_integrations_key_hash"),
    )
    op.create_index("ix_integrations_bot", "integrations", ["bot"])
    live = sa.text("revoked_at IS NULL")
    op.create_index(
        "uq_integrations_live_bot_service",
        "integrations",
        ["bot", "service_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_agents_name"),
        sa.UniqueConstraint("token_hash", name="uq_agents_token_hash"),
    )
    op.create_table(
        "agent_services",
        sa.Column(
            "agent_id",
            sa.String(40),
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _service_fk("service_id", "CASCADE", primary_key=True),
    )
    op.create_table(
        "queue_entries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(300), nullable=False),
        _service_fk("service_id", "SET NULL"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("picked_up_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("preview", sa.Text),
        sa.CheckConstraint(
            "status IN ('waiting', 'in_service', 'finished', 'abandoned', 'transferred', "
            "'voicemail')",
            name="ck_queue_entries_status",
        ),
    )
    op.create_index("ix_queue_entries_conversation_id", "queue_entries", ["conversation_id"])
    op.create_index(
        "ix_queue_entries_service_status", "queue_entries", ["service_id", "status", "enqueued_at"]
    )
    op.create_index("ix_queue_entries_agent_status", "queue_entries", ["agent_id", "status"])


def downgrade() -> None:
    op.drop_table("queue_entries")
    op.drop_table("agent_services")
    op.drop_table("agents")
    op.drop_table("integrations")
    op.drop_table("service_transfer_targets")
    op.drop_table("services")

