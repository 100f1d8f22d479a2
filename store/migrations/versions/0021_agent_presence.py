"""Agent presence (api/presence.py, store/presence.py): when the API last saw the agent's
screen (`agents.last_seen_at`: an open agent stream or an agent request) and why the server,
not the agent, set its status (`agents.status_reason`: `unseen` when presence set it offline;
NULL after any other status change). Existing agents count as seen at the upgrade: each API
process writes the agents it saw only every few seconds after it starts, and a screen still
open must not be set offline by a process that swept first; one whose screen is gone is set
offline `agent_presence_timeout_seconds` later.

Revision ID: 0021
Revises: 0020
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:  # plain ALTERs: no table rebuild on SQLite
    op.add_column("agents", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("agents", sa.Column("status_reason", sa.String(16), nullable=True))
    agents = sa.table("agents", sa.column("last_seen_at", sa.DateTime(timezone=True)))
    op.execute(agents.update().values(last_seen_at=datetime.now(UTC)))


def downgrade() -> None:
    op.drop_column("agents", "status_reason")
    op.drop_column("agents", "last_seen_at")
