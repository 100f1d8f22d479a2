"""A customer message's id looked up within the contact's conversations, not across all of
them: `answer_of` (a message sent again after its conversation ended) joins the contact's
conversations with `messages.message_id`, and with an index on `message_id` alone SQLite took
every message with that id first — connectors whose ids repeat across contacts (Telegram's
per-chat numbers, a bench's "m1") made each such lookup cost the whole table (bench/README.md,
thirteenth pass). The composite index serves the lookup from the conversation's side. It keeps
only entries with an id (the customers' messages; the bot's replies have none), which both
databases use for `message_id = ?`. On a large PostgreSQL log its build holds writes to
`messages` until it is done (docs/operations.md, "Upgrades").

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_WITH_AN_ID = sa.text("message_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_messages_conversation_message_id",
        "messages",
        ["conversation_id", "message_id"],
        if_not_exists=True,  # built beforehand, CONCURRENTLY (docs/operations.md, "Upgrades")
        sqlite_where=_WITH_AN_ID,
        postgresql_where=_WITH_AN_ID,
    )
    op.drop_index("ix_messages_message_id", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.drop_index("ix_messages_conversation_message_id", table_name="messages")
