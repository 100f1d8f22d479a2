"""The offers of waiting entries to agents, in SQL: the reads (`Offer`) and the small steps
other store modules share; making and ending offers is store/routing.py.

An offer is `open` until the agent accepts it (the claim turns it `accepted`), declines it,
lets it lapse, or it is `withdrawn` (the entry stops waiting, the agent leaves `available`).
At most one open offer per entry (a partial unique index); an agent's open offers count
against its capacity like conversations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from store.common import now
from store.db import reads
from store.tables import agents, offers, queue_entries, services


@dataclass(frozen=True)
class Offer:
    id: str
    entry_id: str
    conversation_id: str
    workflow_id: str
    service_id: str
    service_name: str
    agent_id: str
    expires_at: datetime
    preview: str | None
    status: str = "open"
    created_at: datetime | None = None


def entry_offer(engine: Engine, entry_id: str) -> Offer | None:
    """The entry's open offer, if any."""
    with reads(engine) as conn:
        row = conn.execute(
            _offer_rows().where(offers.c.entry_id == entry_id, offers.c.status == "open")
        ).first()
    return _offer(row) if row is not None else None


def open_offers(engine: Engine, agent_id: str) -> list[Offer]:
    """The agent's open offers (its screen rings for these), oldest first."""
    with reads(engine) as conn:
        rows = conn.execute(
            _offer_rows().where(offers.c.agent_id == agent_id, offers.c.status == "open")
        )
        return [_offer(row) for row in rows]


def get_offer(engine: Engine, offer_id: str) -> Offer | None:
    with reads(engine) as conn:
        row = conn.execute(_offer_rows().where(offers.c.id == offer_id)).first()
    return _offer(row) if row is not None else None


def _offer_rows() -> sa.Select[Any]:
    return (
        sa.select(
            offers,
            queue_entries.c.conversation_id,
            queue_entries.c.workflow_id,
            queue_entries.c.service_id,
            queue_entries.c.preview,
            services.c.name.label("service_name"),
        )
        .join(queue_entries, queue_entries.c.id == offers.c.entry_id)
        .join(services, services.c.id == queue_entries.c.service_id)
        .order_by(offers.c.created_at, offers.c.id)
    )


def _offer(row: sa.Row[Any]) -> Offer:
    return Offer(
        id=row.id,
        entry_id=row.entry_id,
        conversation_id=row.conversation_id,
        workflow_id=row.workflow_id,
        service_id=row.service_id,
        service_name=row.service_name,
        agent_id=row.agent_id,
        expires_at=row.expires_at,
        preview=row.preview,
        status=row.status,
        created_at=row.created_at,
    )


# The claim's statements (every pickup runs them), built once: store/hand_over.py's reasoning.
_entry: sa.BindParameter[str] = sa.bindparam("o_entry")
_agent: sa.BindParameter[str] = sa.bindparam("o_agent")
_at = sa.bindparam("o_at", type_=offers.c.ended_at.type)
_WITHDRAW = (
    offers.update()
    .where(offers.c.entry_id == _entry, offers.c.status == "open")
    .values(status="withdrawn", ended_at=_at)
)
_OFFERED_TO_OTHER = sa.select(offers.c.id).where(
    offers.c.entry_id == _entry, offers.c.status == "open", offers.c.agent_id != _agent
)
_ACCEPT = (
    offers.update()
    .where(offers.c.entry_id == _entry, offers.c.agent_id == _agent, offers.c.status == "open")
    .values(status="accepted", ended_at=_at)
)
_NO_LAPSES = agents.update().where(agents.c.id == _agent).values(lapses=0)


def withdraw(conn: Connection, entry_id: str) -> None:
    """The entry stopped waiting (abandoned, voicemail, transferred): its open offer ends."""
    conn.execute(_WITHDRAW, {"o_entry": entry_id, "o_at": now()})


def offered_to_other(conn: Connection, entry_id: str, agent_id: str) -> bool:
    """The entry has an open offer to another agent (it is reserved for that agent)."""
    found = conn.execute(_OFFERED_TO_OTHER, {"o_entry": entry_id, "o_agent": agent_id}).first()
    return found is not None


def accepted(conn: Connection, entry_id: str, agent_id: str) -> None:
    """The agent took the entry: its open offer (if any) is accepted, its lapse count reset."""
    conn.execute(_ACCEPT, {"o_entry": entry_id, "o_agent": agent_id, "o_at": now()})
    conn.execute(_NO_LAPSES, {"o_agent": agent_id})


AgentId = str | sa.BindParameter[Any]
"""An agent's id, or a bind parameter for it (statements built once)."""


def reserved_entries(excluding_agent: AgentId) -> sa.Select[tuple[str]]:
    """Entry ids with an open offer to another agent (`next` skips them: an offered entry
    waits for its agent)."""
    return sa.select(offers.c.entry_id).where(
        offers.c.status == "open", offers.c.agent_id != excluding_agent
    )


def offered_to(agent_id: AgentId) -> sa.Select[tuple[str]]:
    """Entry ids with an open offer to this agent (`next` takes them first)."""
    return sa.select(offers.c.entry_id).where(
        offers.c.status == "open", offers.c.agent_id == agent_id
    )


def skip_agent(conn: Connection, entry_id: str, agent_id: str) -> None:
    """Offer the entry to another agent first: the agent who went silent on it is recorded as
    having declined it (store/routing offers a declined entry to another agent first)."""
    at = now()
    conn.execute(
        offers.insert().values(
            id=f"ofr_{entry_id}"[:40],
            entry_id=entry_id,
            agent_id=agent_id,
            status="declined",
            created_at=at,
            expires_at=at,
            ended_at=at,
        )
    )
