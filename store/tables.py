"""SQLAlchemy Core tables, mirroring the migrations (which stay frozen; this module moves on).
The channels' tables live in store/channel_tables.py and are named here too."""

from __future__ import annotations

import sqlalchemy as sa

from omni.models import OPEN_QUEUE_STATUSES
from store.channel_tables import channel_connectors as channel_connectors
from store.channel_tables import channel_credentials as channel_credentials
from store.channel_tables import channel_deliveries as channel_deliveries
from store.table_types import UtcDateTime as UtcDateTime
from store.table_types import metadata as metadata

bot_versions = sa.Table(
    "bot_versions",
    metadata,
    sa.Column("bot", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("flow", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
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
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("status_seq", sa.Integer, nullable=False, server_default="0"),
    # the run's seq its status columns were taken at (guards writes ahead: conversations.py)
)

SEQ_MAX = 2**31 - 1
"""The largest seq the `seq` columns hold (32-bit on PostgreSQL): a bound for seqs from outside."""

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("sender", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("message_id", sa.String(200)),
    sa.Column("data", sa.JSON),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
BOT_MENU = "kind = 'menu' AND sender = 'bot'"
"""The bot's menus' partial index's predicate (migration 0025): a query repeats it as literals."""
sa.Index(  # the newest menu up to a seq (store/standing.py), migration 0025
    "ix_messages_bot_menus",
    messages.c.conversation_id,
    messages.c.seq,
    sqlite_where=sa.text(BOT_MENU),
    postgresql_where=sa.text(BOT_MENU),
)

# --- Omni (migration 0002): services, integrations, agents, the waiting list ------------------

services = sa.Table(
    "services",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    # store.name_keys.stored_key(name), unique; NULL only on a row that clashed before 0020
    sa.Column("name_key", sa.String(64), unique=True),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),  # If-Match (0020)
    sa.Column("service_level_percent", sa.Integer, nullable=False),
    sa.Column("answer_time_seconds", sa.Integer, nullable=False),
    sa.Column("abandon_seconds", sa.Integer, nullable=False),
    sa.Column("voicemail_seconds", sa.Integer, nullable=False),
    sa.Column("extension", sa.String(3), unique=True),
    sa.Column("agent_screen", sa.Boolean, nullable=False),
    sa.Column("hidden", sa.Boolean, nullable=False),
    sa.Column("webhook_enabled", sa.Boolean, nullable=False),
    sa.Column("webhook_url", sa.Text),
    sa.Column("webhook_secret", sa.Text),
    sa.Column("queue_notifications", sa.JSON, nullable=False),
    sa.Column("care", sa.JSON),
    sa.Column("wrapup", sa.JSON),
    sa.Column("assignment", sa.String(16), nullable=False, server_default="manual"),
    sa.Column("offer_seconds", sa.Integer, nullable=False, server_default="30"),
    sa.Column("max_lapses", sa.Integer, nullable=False, server_default="3"),
    sa.Column("agent_capacity", sa.Integer),  # migration 0015; NULL: only the agent's capacity
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

service_transfer_targets = sa.Table(
    "service_transfer_targets",
    metadata,
    sa.Column(
        "service_id",
        sa.String(40),
        sa.ForeignKey("services.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "target_id",
        sa.String(40),
        sa.ForeignKey("services.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

integrations = sa.Table(
    "integrations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("bot", sa.String(64), nullable=False, index=True),
    sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_prefix", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("rotated_at", UtcDateTime()),
    sa.Column("revoked_at", UtcDateTime()),
    sa.Index(
        "uq_integrations_live_bot_service",
        "bot",
        "service_id",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("name_key", sa.String(64), unique=True),  # as services.name_key (0020)
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),  # admin's changes
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("status_changed_at", UtcDateTime(), nullable=False),
    sa.Column("skills", sa.JSON),
    sa.Column("lapses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("supervisor", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime()),  # presence (0021): store/presence.py
    sa.Column("status_reason", sa.String(16)),  # `unseen`: presence set it offline (0021)
)

agent_services = sa.Table(
    "agent_services",
    metadata,
    sa.Column(
        "agent_id",
        sa.String(40),
        sa.ForeignKey("agents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "service_id",
        sa.String(40),
        sa.ForeignKey("services.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

queue_entries = sa.Table(
    "queue_entries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("workflow_id", sa.String(300), nullable=False),
    sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="SET NULL")),
    sa.Column("enqueued_at", UtcDateTime(), nullable=False),
    sa.Column("picked_up_at", UtcDateTime()),
    sa.Column("ended_at", UtcDateTime()),
    sa.Column("preview", sa.Text),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skills", sa.JSON),
    sa.Column("rank_at", UtcDateTime()),
    sa.Column("next_lease_agent", sa.String(40)),  # `next`'s lease (store/next_lease.py, 0017)
    sa.Column("next_lease_until", UtcDateTime()),
    sa.CheckConstraint(
        "status IN ('waiting', 'in_service', 'finished', 'abandoned', 'transferred', 'voicemail')",
        name="ck_queue_entries_status",
    ),
    sa.Index("ix_queue_entries_conversation_service", "conversation_id", "service_id"),  # 0024
    sa.Index("ix_queue_entries_service_status", "service_id", "status", "enqueued_at"),
    sa.Index("ix_queue_entries_agent_status", "agent_id", "status"),
    sa.Index("ix_queue_entries_enqueued_at", "enqueued_at"),  # supervisor history (0009)
    sa.Index("ix_queue_entries_service_picked", "service_id", "picked_up_at"),  # wait history
    sa.Index("ix_queue_entries_service_status_ended", "service_id", "status", "ended_at"),
)
sa.Index(  # the queue order (store/queue.rank_order), migration 0014
    "ix_queue_entries_service_status_order",
    queue_entries.c.service_id,
    queue_entries.c.status,
    sa.func.coalesce(queue_entries.c.rank_at, queue_entries.c.enqueued_at),
    queue_entries.c.id,
)
OPEN_ENTRY = "status IN (" + ", ".join(f"'{status}'" for status in OPEN_QUEUE_STATUSES) + ")"
"""The open entries' partial index's predicate (migration 0022)."""
OPEN_STATUSES: sa.BindParameter[list[str]] = sa.bindparam(
    "open_statuses", list(OPEN_QUEUE_STATUSES), expanding=True, literal_execute=True
)
"""The same statuses for queries, written into their SQL as literals a planner matches."""
sa.Index(
    "ix_queue_entries_open",
    queue_entries.c.service_id,
    queue_entries.c.status,
    queue_entries.c.enqueued_at,
    sqlite_where=sa.text(OPEN_ENTRY),
    postgresql_where=sa.text(OPEN_ENTRY),
)

service_totals = sa.Table(  # the metrics scrape's counters (store/service_totals.py, 0023)
    "service_totals",
    metadata,
    sa.Column("service_id", sa.String(40), primary_key=True),  # no foreign key: see 0023
    sa.Column("abandoned", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("answered", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("answered_within_target", sa.BigInteger, nullable=False, server_default="0"),
)

# --- routing (migration 0005): offers of waiting entries to agents --------------------------

offers = sa.Table(
    "offers",
    metadata,
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
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime()),
    sa.CheckConstraint(
        "status IN ('open', 'accepted', 'declined', 'lapsed', 'withdrawn')",
        name="ck_offers_status",
    ),
    sa.Index(
        "uq_offers_open_entry",
        "entry_id",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
    sa.Index("ix_offers_agent_status", "agent_id", "status"),
)

voicemails = sa.Table(
    "voicemails",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
    sa.Column("service_name", sa.String(100), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("bot", sa.String(64), nullable=False),
    sa.Column("contact_id", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

csat_answers = sa.Table(
    "csat_answers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
    sa.Column("service_name", sa.String(100), nullable=False),
    sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="SET NULL")),
    sa.Column("agent_name", sa.String(100)),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("answered_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_answers_score"),
    sa.Index("ix_csat_answers_service_time", "service_id", "answered_at"),
)

supervisor_alerts = sa.Table(
    "supervisor_alerts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
    sa.Column("service_name", sa.String(100), nullable=False),
    sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="SET NULL")),
    sa.Column("agent_name", sa.String(100)),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_supervisor_alerts_time", "created_at"),
)

quick_replies = sa.Table(
    "quick_replies",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("shortcut", sa.String(41), nullable=False, index=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="CASCADE")),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),  # If-Match (0020)
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # one shortcut per scope, partial unique indexes of migration 0020: among the global ones
    # (uq_quick_replies_global_shortcut) and within each service (…_service_shortcut)
)

conversation_labels = sa.Table(
    "conversation_labels",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(60), primary_key=True),
    sa.Column("service", sa.String(100)),
    sa.Column("agent", sa.String(100)),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_conversation_labels_value", "kind", "value"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("bot", sa.String(64), nullable=False),
    sa.Column("contact_id", sa.String(200), nullable=False),
    sa.Column("conversation_id", sa.String(64), index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer),
    # source: `customer`, `agent`, `whatsapp`, `telegram`
    sa.Column("source", sa.String(20), nullable=False),
    # status: `ready`, or `pending` while a channel's media is fetched (`failed`: refused)
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

supervisor_actions = sa.Table(
    "supervisor_actions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("supervisor", sa.String(100), nullable=False),
    sa.Column("agent", sa.String(100)),
    sa.Column("target", sa.String(100)),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_supervisor_actions_conversation", "conversation_id", "created_at"),
)

transcript_mails = sa.Table(
    "transcript_mails",
    metadata,
    sa.Column("conversation_id", sa.String(64), primary_key=True),
    sa.Column("sent_at", UtcDateTime(), nullable=False),
)
