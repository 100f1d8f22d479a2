"""SQL of the supervisor's actions: the audit log, and moving a conversation in service to another
agent (take-over, reassignment) or another service's queue (a supervisor is not bound by the
transfer group)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from omni.models import ServicePublic
from store import notify, queue
from store import services as service_store
from store.common import is_postgres
from store.db import reads
from store.tables import agent_services, agents, queue_entries, supervisor_actions


@dataclass(frozen=True, slots=True)
class SupervisorAction:
    """One audited action: who (`supervisor`), when, on which conversation, which agent had it
    (`agent`), and where it went (`target`: an agent's or a service's name)."""

    id: str
    conversation_id: str
    action: str
    supervisor: str
    agent: str | None
    target: str | None
    created_at: datetime


def record_action(engine: Engine, action: SupervisorAction) -> None:
    """Add the action to the audit log (once: a retry finds it there)."""
    values = asdict(action)
    with engine.begin() as conn:
        insert = postgresql.insert if is_postgres(conn) else sqlite.insert
        conn.execute(insert(supervisor_actions).values(**values).on_conflict_do_nothing())


def agent_service_ids(engine: Engine, agent_id: str) -> list[str]:
    """The ids of the services the agent belongs to (a supervisor's scope)."""
    with reads(engine) as conn:
        return list(
            conn.execute(
                sa.select(agent_services.c.service_id).where(agent_services.c.agent_id == agent_id)
            ).scalars()
        )


def in_services(conversation_id: sa.ColumnElement[str], service_ids: Collection[str]) -> sa.Exists:
    """The conversation was queued, at some time, in one of these services."""
    return sa.exists().where(
        queue_entries.c.conversation_id == conversation_id,
        queue_entries.c.service_id.in_(list(service_ids)),
    )


def conversation_in_services(
    engine: Engine, conversation_id: str, service_ids: Collection[str]
) -> bool:
    """Whether the conversation ever waited in or was served by one of these services."""
    with reads(engine) as conn:
        found = conn.execute(sa.select(in_services(sa.literal(conversation_id), service_ids)))
        return bool(found.scalar())


def list_actions(
    engine: Engine,
    conversation_id: str | None = None,
    limit: int = 100,
    service_ids: Collection[str] | None = None,
) -> list[SupervisorAction]:
    """The audit log, newest first (of one conversation when given; of the conversations that
    were in one of `service_ids` when given)."""
    query = sa.select(supervisor_actions).order_by(
        supervisor_actions.c.created_at.desc(), supervisor_actions.c.id
    )
    if conversation_id is not None:
        query = query.where(supervisor_actions.c.conversation_id == conversation_id)
    if service_ids is not None:
        query = query.where(in_services(supervisor_actions.c.conversation_id, service_ids))
    with reads(engine) as conn:
        rows = conn.execute(query.limit(limit)).all()
    return [SupervisorAction(**row._asdict()) for row in rows]


def reassign_agent(engine: Engine, entry_id: str, agent_id: str) -> str | None:
    """Give the in-service entry to another agent (a supervisor's decision: neither the agent's
    status nor capacity is checked); the agent's name, or None when there is no such agent or
    the entry is no longer in service."""
    with engine.begin() as conn:
        agent = conn.execute(sa.select(agents.c.name).where(agents.c.id == agent_id)).first()
        if agent is None:
            return None
        moved = conn.execute(
            queue_entries.update()
            .where(queue_entries.c.id == entry_id, queue_entries.c.status == "in_service")
            .values(agent_id=agent_id)
        )
        if moved.rowcount != 1:
            return None
        notify.queue_changed(conn)
    return str(agent.name)


def reassign_service(
    engine: Engine, entry_id: str, service: str, new_entry_id: str
) -> ServicePublic | None:
    """Move the entry to the back of the named service's queue (None: no such service)."""
    target = service_store.find_service(engine, name=service, extension=None)
    if target is None:
        return None
    queue.transfer(engine, entry_id, target.id, new_entry_id)
    return target
