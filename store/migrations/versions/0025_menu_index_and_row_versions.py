"""Two reads of the customer stream made cheap (the web chat's `status` event, store/standing.py;
the SQLite poller, api/stream_sources.py):

- `ix_messages_bot_menus`: the bot's menus by conversation and seq, a partial index. Where a
  conversation stands names the newest menu the bot said up to a seq; through the primary key
  that walked every message since that menu (10,000 messages and no recent menu: 4-5 ms a wake).
  A query repeating the predicate with literals (no bound parameters) reads it on SQLite and
  PostgreSQL.
- SQLite only: `conversations.row_version`, raised past every other row's by triggers whenever a
  row is inserted or its status, block or status seq is written. The poller reads the rows whose
  version is above the highest it saw (its index) instead of every watched row whenever anything
  was committed. Writes are serialised on SQLite, so a later commit always has higher versions.
  PostgreSQL wakes streams by NOTIFY and has neither. A batch migration that rebuilds
  `conversations` on SQLite drops its triggers: it must create them again (`TRIGGERS`).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_BOT_MENU = sa.text("kind = 'menu' AND sender = 'bot'")
_RAISE = (
    "BEGIN UPDATE conversations SET row_version ="
    " (SELECT coalesce(max(row_version), 0) + 1 FROM conversations) WHERE id = NEW.id; END"
)
TRIGGERS = {
    "tr_conversations_inserted": f"AFTER INSERT ON conversations FOR EACH ROW {_RAISE}",
    "tr_conversations_moved": (
        f"AFTER UPDATE OF status, block, status_seq ON conversations FOR EACH ROW {_RAISE}"
    ),
}


def upgrade() -> None:
    op.create_index(
        "ix_messages_bot_menus",
        "messages",
        ["conversation_id", "seq"],
        sqlite_where=_BOT_MENU,
        postgresql_where=_BOT_MENU,
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    op.add_column(  # a plain ALTER: no table rebuild
        "conversations",
        sa.Column("row_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.execute("UPDATE conversations SET row_version = rowid")
    op.create_index("ix_conversations_row_version", "conversations", ["row_version"])
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.drop_index("ix_conversations_row_version", table_name="conversations")
        op.drop_column("conversations", "row_version")
    op.drop_index("ix_messages_bot_menus", table_name="messages")
