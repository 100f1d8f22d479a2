"""Supervisors as their own actor: an agent account may supervise the services it belongs to
(`agents.supervisor`), signing in to the supervisor routes with its own token.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:  # plain ALTERs: no table rebuild on SQLite
    op.add_column(
        "agents", sa.Column("supervisor", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("agents", "supervisor")
