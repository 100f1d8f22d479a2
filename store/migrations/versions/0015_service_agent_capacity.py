"""A service's capacity per agent: the most conversations of the service one agent holds at
once (NULL: no limit but the agent's own capacity). store/capacity.py enforces it.

Revision ID: 0015
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:  # plain ALTERs: no table rebuild on SQLite
    op.add_column("services", sa.Column("agent_capacity", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("services", "agent_capacity")
