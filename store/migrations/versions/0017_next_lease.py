"""`next`'s short lease on a waiting entry (store/next_lease.py): the agent whose `next` is
picking the entry up and until when, so concurrent `next` calls spread over different entries
instead of all sending their pickup to the same one. Only `next` reads them; the claim stays
the authority (it ignores them).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:  # plain ALTERs: no table rebuild on SQLite
    op.add_column("queue_entries", sa.Column("next_lease_agent", sa.String(40), nullable=True))
    op.add_column(
        "queue_entries", sa.Column("next_lease_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("queue_entries", "next_lease_until")
    op.drop_column("queue_entries", "next_lease_agent")
