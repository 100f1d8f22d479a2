"""The seq a conversation row's status columns were taken at (store/conversations.py): the
API writes a turn's status ahead of the workflow's record, and each writer sets the status
only if it is not older than the one there, whatever other writes raised `last_seq` meanwhile.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:  # a plain ALTER: no table rebuild on SQLite
    op.add_column(
        "conversations",
        sa.Column("status_seq", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("conversations", "status_seq")
