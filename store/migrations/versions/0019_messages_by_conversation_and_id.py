"""A customer message's id looked up within the contact's conversations, not across all of
them: `answer_of` (a message sent again after its conversation ended) joins the contact's
conversations with `messages.message_id`, and with an index on `message_id` alone SQLite took
every message with that id first — connectors whose ids repeat across contacts (Telegram's
per-chat numbers, a bench's "m1") made each such lookup cost the whole table (bench/README.md,
thirteenth pass). The composite index serves the lookup from the conversation's side.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_conversation_message_id", "messages", ["conversation_id", "message_id"]
    )
    op.drop_index("ix_messages_message_id", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.drop_index("ix_messages_conversation_message_id", table_name="messages")
