"""The channels' tables: connector credentials, each bot's connectors, delivery receipts."""

from __future__ import annotations

import sqlalchemy as sa

from store.table_types import UtcDateTime, metadata

channel_credentials = sa.Table(
    "channel_credentials",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("bot", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("token_prefix", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime()),
)


channel_connectors = sa.Table(
    "channel_connectors",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("bot", sa.String(64), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("account_id", sa.String(100)),
    sa.Column("secrets", sa.Text, nullable=False),
    sa.Column("template_name", sa.String(512)),
    sa.Column("template_language", sa.String(16)),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("bot", "platform", name="uq_channel_connectors_bot_platform"),
)


channel_deliveries = sa.Table(
    "channel_deliveries",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("platform_message_id", sa.String(200), index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
