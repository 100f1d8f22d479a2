"""SQLAlchemy Core tables, mirroring the migrations (which stay frozen; this module moves on)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

bot_versions = sa.Table(
    "bot_versions",
    metadata,
    sa.Column("bot", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("flow", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("workflow_id", sa.String(300), nullable=False),
    sa.Column("bot", sa.String(64), nullable=False),
    sa.Column("bot_version", sa.Integer, nullable=False),
    sa.Column("contact_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("block", sa.String(100)),
    sa.Column("service", sa.String(100)),
    sa.Column("agent", sa.String(100)),
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("sender", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("data", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
