"""Service care settings (JSON), CSAT answers and supervisor alerts (issue 12, items 3-5).

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("services", sa.Column("care", sa.JSON))
    op.create_table(
        "csat_answers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
        sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("agent_name", sa.String(100)),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_answers_score"),
        sa.Index("ix_csat_answers_service_time", "service_id", "answered_at"),
    )
    op.create_table(
        "supervisor_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(40), sa.ForeignKey("services.id", ondelete="SET NULL")),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(40), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("agent_name", sa.String(100)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_supervisor_alerts_time", "created_at"),
    )


def downgrade() -> None:
    op.drop_table("supervisor_alerts")
    op.drop_table("csat_answers")
    op.drop_column("services", "care")
