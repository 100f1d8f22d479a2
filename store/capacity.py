"""An agent's slots, in SQL: its own `capacity` over all services and a service's
`agent_capacity` (the most conversations of that service one agent holds at once).

A slot is held by a conversation in service or by an open offer (each counts where its entry's
service is). Both limits hold together: a claim (store/queue.claim) refuses with
`at_capacity` or `service_at_capacity`, a dispatch (store/routing) offers an agent no more than
the smaller of its free slots and its free slots in the service, and `next` skips the services
where the agent is full. Race-free by the agent's lock: every step that gives an agent a slot
(a claim, an offer) holds the agent's row lock on PostgreSQL (claims lock it first; dispatch
locks the services, then their agents) or SQLite's single writer lock, and freeing a slot
never needs one. A supervisor's reassignment is a decision over both limits (store/supervision).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from omni import routing
from store.common import is_postgres
from store.db import reads
from store.tables import agent_services, agents, offers, queue_entries, services

Refusal = tuple[Literal["at_capacity", "service_at_capacity"], str]
"""(claim code, English reason) of a claim that would pass a limit."""


# The claim's statements (every pickup runs them), built once: store/hand_over.py's reasoning.
_agent: sa.BindParameter[str] = sa.bindparam("c_agent")
_service: sa.BindParameter[str] = sa.bindparam("c_service")
_entry: sa.BindParameter[str] = sa.bindparam("c_entry")
_LOCK = {
    True: sa.select(agents.c.id).where(agents.c.id == _agent).with_for_update(),
    False: agents.update().where(agents.c.id == _agent).values(lapses=agents.c.lapses),
}
"""By dialect: PostgreSQL's row lock, or SQLite's first write."""
_LOCKED_AGENT = {
    True: sa.select(agents).where(agents.c.id == _agent).with_for_update(),
    False: agents.update()
    .where(agents.c.id == _agent)
    .values(lapses=agents.c.lapses)
    .returning(*agents.c),
}
"""`_LOCK` that also reads the agent's row (SQLite's RETURNING: 3.35 and later)."""
_AGENT = sa.select(agents).where(agents.c.id == _agent)
_in_service = sa.select(sa.func.count()).where(
    queue_entries.c.agent_id == _agent, queue_entries.c.status == "in_service"
)
_offered = sa.select(sa.func.count()).where(  # but the claimed entry's (it holds no slot)
    offers.c.agent_id == _agent, offers.c.status == "open", offers.c.entry_id != _entry
)
_offered_here = _offered.join_from(
    offers, queue_entries, queue_entries.c.id == offers.c.entry_id
).where(queue_entries.c.service_id == _service)
_ROOM = sa.select(
    services.c.agent_capacity,
    services.c.name,
    _in_service.scalar_subquery().label("busy"),
    _offered.scalar_subquery().label("offered"),
    _in_service.where(queue_entries.c.service_id == _service).scalar_subquery().label("here"),
    _offered_here.scalar_subquery().label("offered_here"),
).where(services.c.id == _service)
"""The agent's slots held, in all and in the entry's service, with the service's limit: one
statement (was five)."""


def lock_agent(conn: Connection, agent_id: str) -> None:
    """Serialize one agent's claims and offers (capacity): a row lock on PostgreSQL; on SQLite
    a first write, so the transaction holds the writer lock before it reads."""
    conn.execute(_LOCK[is_postgres(conn)], {"c_agent": agent_id})


def locked_agent(conn: Connection, agent_id: str) -> Any:
    """`lock_agent`, then the agent's row (None: no such agent), in one statement when the
    database can (PostgreSQL's FOR UPDATE, SQLite's UPDATE ... RETURNING)."""
    postgres = is_postgres(conn)
    if postgres or conn.dialect.update_returning:
        return conn.execute(_LOCKED_AGENT[postgres], {"c_agent": agent_id}).first()
    lock_agent(conn, agent_id)
    return conn.execute(_AGENT, {"c_agent": agent_id}).first()


def claim_refusal(conn: Connection, agent: Any, entry: Any) -> Refusal | None:
    """Why the agent (locked) may not take the entry now, or None: its capacity is full, or
    the entry's service's `agent_capacity` is (an offer of this entry to it holds no slot)."""
    params = {"c_agent": agent.id, "c_service": entry.service_id, "c_entry": entry.id}
    room = conn.execute(_ROOM, params).one()
    busy = int(room.busy or 0) + int(room.offered or 0)
    if busy >= agent.capacity:
        return "at_capacity", f"you already have {busy} of {agent.capacity} contacts"
    limit, name = room.agent_capacity, room.name
    if limit is None:
        return None
    here = int(room.here or 0) + int(room.offered_here or 0)
    if here >= limit:
        return (
            "service_at_capacity",
            f"you already have {here} of {limit} contacts of the service {name!r}",
        )
    return None


def within_service(
    conn: Connection, service: Any, free: list[routing.FreeAgent]
) -> list[routing.FreeAgent]:
    """The free agents of a dispatch, their slots cut to what the service's `agent_capacity`
    leaves (conversations of the service in service and open offers of it)."""
    limit = service.agent_capacity
    if limit is None or not free:
        return free
    ids = [agent.agent_id for agent in free]
    held = _in_service_here(conn, ids, service.id)
    for agent_id, count in _open_here(conn, ids, service.id).items():
        held[agent_id] = held.get(agent_id, 0) + count
    cut = [
        replace(agent, free_slots=min(agent.free_slots, limit - held.get(agent.agent_id, 0)))
        for agent in free
    ]
    return [agent for agent in cut if agent.free_slots > 0]


_LIMITS = (
    sa.select(services.c.id, services.c.agent_capacity)
    .join(agent_services, agent_services.c.service_id == services.c.id)
    .where(agent_services.c.agent_id == _agent, services.c.agent_capacity.is_not(None))
)
_of_services: sa.BindParameter[list[str]] = sa.bindparam("c_services", expanding=True)
_HELD = (
    sa.select(queue_entries.c.service_id, sa.func.count())
    .where(
        queue_entries.c.agent_id == _agent,
        queue_entries.c.status == "in_service",
        queue_entries.c.service_id.in_(_of_services),
    )
    .group_by(queue_entries.c.service_id)
)
_OFFERED = (
    sa.select(queue_entries.c.service_id, sa.func.count())
    .join(offers, offers.c.entry_id == queue_entries.c.id)
    .where(
        offers.c.agent_id == _agent,
        offers.c.status == "open",
        queue_entries.c.service_id.in_(_of_services),
    )
    .group_by(queue_entries.c.service_id)
)
"""`next`'s reads of the agent's full services, built once as the claim's."""


def full_services(engine: Engine, agent_id: str) -> set[str]:
    """The agent's services whose `agent_capacity` it has reached (`next` skips them)."""
    with reads(engine) as conn:
        limits = dict(conn.execute(_LIMITS, {"c_agent": agent_id}).all())
        if not limits:
            return set()
        params = {"c_agent": agent_id, "c_services": list(limits)}
        held: dict[str, int] = dict(conn.execute(_HELD, params).all())
        offered = conn.execute(_OFFERED, params).all()
    for service_id, count in offered:
        held[service_id] = held.get(service_id, 0) + count
    return {service_id for service_id, limit in limits.items() if held.get(service_id, 0) >= limit}


def waiting_in(engine: Engine, service_ids: Collection[str]) -> bool:
    """Some conversation waits in one of these services (`next` refusing: full, not empty)."""
    if not service_ids:
        return False
    with reads(engine) as conn:
        found = conn.execute(
            sa.select(queue_entries.c.id)
            .where(
                queue_entries.c.service_id.in_(service_ids),
                queue_entries.c.status == "waiting",
            )
            .limit(1)
        ).first()
    return found is not None


def _in_service_here(conn: Connection, agent_ids: list[str], service_id: str) -> dict[str, int]:
    return dict(
        conn.execute(
            sa.select(queue_entries.c.agent_id, sa.func.count())
            .where(
                queue_entries.c.agent_id.in_(agent_ids),
                queue_entries.c.service_id == service_id,
                queue_entries.c.status == "in_service",
            )
            .group_by(queue_entries.c.agent_id)
        ).all()
    )


_OPEN_HERE = (
    sa.select(offers.c.agent_id, sa.func.count())
    .join(queue_entries, queue_entries.c.id == offers.c.entry_id)
    .where(
        offers.c.agent_id.in_(sa.bindparam("c_agents", expanding=True)),
        offers.c.status == "open",
        queue_entries.c.service_id == _service,
    )
    .group_by(offers.c.agent_id)
)


def _open_here(conn: Connection, agent_ids: list[str], service_id: str) -> dict[str, int]:
    return dict(conn.execute(_OPEN_HERE, {"c_agents": agent_ids, "c_service": service_id}).all())
