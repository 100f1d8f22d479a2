"""SQL of the conversations open now in the human queues (waiting or in service), for the
supervisor's "Conversas em andamento": which ones there are, which customer (its contact id
shortened), in which service, with which agent (and whether that agent is offline now), and
since when."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine

from store.db import reads
from store.presence import UNSEEN
from store.tables import OPEN_STATUSES, agents, conversations, queue_entries, services

OpenStatus = Literal["waiting", "in_service"]

CONTACT_TAIL = 4
"""How much of a contact id the list shows: enough to tell the customers of a queue apart (and
to match "final 4321" a customer says), not a phone number to copy."""


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
    contact: str | None
    """The contact's id shortened (`short_contact`); None while the log has no row of the
    conversation. No name: SQL keeps none (it lives in the conversation's workflow)."""


def short_contact(contact_id: str) -> str:
    """``5511987654321`` → ``…4321``; an id no longer than the tail is shown whole."""
    if len(contact_id) <= CONTACT_TAIL:
        return contact_id
    return "…" + contact_id[-CONTACT_TAIL:]


def open_conversations(
    engine: Engine, *, service_ids: Collection[str] | None = None, limit: int = 100
) -> list[OpenConversation]:
    """The open queue entries (of `service_ids` when given: a supervisor's): those whose agent's
    screen is gone (set offline by presence) first, then in service, then waiting, each oldest
    first, so a limit cuts the newest waiting, never the conversations to act on."""
    query = open_query(limit)
    if service_ids is not None:
        query = query.where(queue_entries.c.service_id.in_(list(service_ids)))
    with reads(engine) as conn:
        return [_open(row._mapping) for row in conn.execute(query)]


def open_query(limit: int) -> sa.Select[Any]:
    """The open entries in the order above, with their service, agent and contact."""
    entry = queue_entries.c
    return (
        sa.select(
            entry.conversation_id,
            services.c.name.label("service"),
            entry.status,
            entry.agent_id,
            agents.c.name.label("agent"),
            sa.func.coalesce(agents.c.status_reason == UNSEEN, False).label("agent_gone"),
            entry.enqueued_at,
            entry.picked_up_at,
            conversations.c.contact_id,
        )
        .select_from(
            queue_entries.outerjoin(services, services.c.id == entry.service_id)
            .outerjoin(agents, agents.c.id == entry.agent_id)
            .outerjoin(conversations, conversations.c.id == entry.conversation_id)
        )
        .where(entry.status.in_(OPEN_STATUSES))  # literals: the partial index (0022)
        .order_by(
            sa.case((agents.c.status_reason == UNSEEN, 0), else_=1),  # `agent_gone` first
            sa.case((entry.status == "in_service", 0), else_=1),
            entry.enqueued_at,
            entry.id,
        )
        .limit(limit)
    )


def _open(row: sa.RowMapping) -> OpenConversation:
    """A row as the list takes it: the contact's id shortened here, so the whole id stays in
    the store."""
    fields = {key: value for key, value in row.items() if key != "contact_id"}
    contact_id = row["contact_id"]
    return OpenConversation(
        **{**fields, "agent_gone": bool(row["agent_gone"])},
        contact=short_contact(contact_id) if contact_id is not None else None,
    )
