"""SQL of the conversations open now in the human queues (waiting or in service), for the
supervisor's "Conversas em andamento": which ones there are, in which service, with which agent
(and whether that agent is offline now), and since when."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import Engine

from omni.models import OPEN_QUEUE_STATUSES
from store.db import reads
from store.presence import UNSEEN
from store.tables import agents, queue_entries, services

OpenStatus = Literal["waiting", "in_service"]


@dataclass(frozen=True, slots=True)
class OpenConversation:
    conversation_id: str
    service: str | None
    """None once the service was removed (only the admin sees such an entry)."""
    status: OpenStatus
    agent_id: str | None
    agent: str | None
    agent_gone: bool
    """Presence set the agent offline (its screen is gone): its customers are to reassign."""
    enqueued_at: datetime
    picked_up_at: datetime | None


def open_conversations(
    engine: Engine, *, service_ids: Collection[str] | None = None, limit: int = 100
) -> list[OpenConversation]:
    """The open queue entries (of `service_ids` when given: a supervisor's): those whose agent's
    screen is gone (set offline by presence) first, then in service, then waiting, each oldest
    first, so a limit cuts the newest waiting, never the conversations to act on."""
    entry = queue_entries.c
    query = (
        sa.select(
            entry.conversation_id,
            services.c.name.label("service"),
            entry.status,
            entry.agent_id,
            agents.c.name.label("agent"),
            sa.func.coalesce(agents.c.status_reason == UNSEEN, False).label("agent_gone"),
            entry.enqueued_at,
            entry.picked_up_at,
        )
        .select_from(
            queue_entries.outerjoin(services, services.c.id == entry.service_id).outerjoin(
                agents, agents.c.id == entry.agent_id
            )
        )
        .where(entry.status.in_(OPEN_QUEUE_STATUSES))
        .order_by(
            sa.case((agents.c.status_reason == UNSEEN, 0), else_=1),  # `agent_gone` first
            sa.case((entry.status == "in_service", 0), else_=1),
            entry.enqueued_at,
            entry.id,
        )
        .limit(limit)
    )
    if service_ids is not None:
        query = query.where(entry.service_id.in_(list(service_ids)))
    with reads(engine) as conn:
        return [
            OpenConversation(**{**row._mapping, "agent_gone": bool(row.agent_gone)})
            for row in conn.execute(query)
        ]
