"""The waiting list of each Omni service, in SQL: enqueue, claim, close, transfer, figures.

Races (two agents picking the same conversation, a pickup against abandonment) are decided
here, in one transaction each, by conditional updates: the row that is still `waiting` goes to
exactly one winner, and the workflow follows the answer. Reads return :class:`QueueEntry`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from omni import routing
from omni.errors import NotFound
from omni.models import OPEN_QUEUE_STATUSES, QueueStatus, ServiceMetrics
from store import capacity, next_lease, notify, offers, service_totals, wait_history
from store.common import now
from store.db import reads
from store.hand_over import NewEntry, enqueue_on, position_on
from store.tables import agent_services, agents, queue_entries, services

rank_order = sa.func.coalesce(queue_entries.c.rank_at, queue_entries.c.enqueued_at)
"""The queue order: the virtual arrival time of priority with aging (omni/routing.rank_at)."""

ClaimCode = Literal[
    "ok", "taken", "not_your_service", "not_available", "at_capacity", "service_at_capacity"
]


@dataclass(frozen=True)
class Claim:
    code: ClaimCode
    reason: str = ""


@dataclass(frozen=True)
class Staffing:
    logged_in: int
    """Agents of the service not offline (available or paused)."""
    available: int


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One conversation's stay in one service's queue (a transfer starts a new entry).

    Only entries of existing services are read back: a service with open entries cannot be
    deleted, and the closed entries of a deleted one stay as detached history for nobody.
    """

    id: str
    conversation_id: str
    workflow_id: str
    service_id: str
    service_name: str
    status: QueueStatus
    agent_id: str | None
    enqueued_at: datetime
    picked_up_at: datetime | None
    ended_at: datetime | None
    preview: str | None
    priority: int = 0
    skills: tuple[str, ...] = ()


def _entries() -> sa.Select[Any]:
    """Queue entries with their service's name."""
    return sa.select(queue_entries, services.c.name.label("service_name")).join(
        services, services.c.id == queue_entries.c.service_id
    )


# The statements of every conversation (claim, finish, open_entry, `next`) are built once with
# bind parameters: neither building nor caching them is paid per call (store/hand_over.py).
_ENTRIES = _entries()
_id: sa.BindParameter[str] = sa.bindparam("q_id")
_agent: sa.BindParameter[str] = sa.bindparam("q_agent")
_service: sa.BindParameter[str] = sa.bindparam("q_service")
_at = sa.bindparam("q_at", type_=queue_entries.c.ended_at.type)
_ENTRY_ROW = (  # with whether the agent serves its service (`served`): one statement
    sa.select(queue_entries, agent_services.c.service_id.label("served"))
    .outerjoin(
        agent_services,
        sa.and_(
            agent_services.c.service_id == queue_entries.c.service_id,
            agent_services.c.agent_id == _agent,
        ),
    )
    .where(queue_entries.c.id == _id)
)
_TAKE = (
    queue_entries.update()
    .where(queue_entries.c.id == _id, queue_entries.c.status == "waiting")
    .values(status="in_service", agent_id=_agent, picked_up_at=_at)
)
_CLOSE_WAITING = (
    queue_entries.update()
    .where(queue_entries.c.id == _id, queue_entries.c.status == "waiting")
    .values(status=sa.bindparam("q_status"), ended_at=_at)
)
_FINISH = (
    queue_entries.update()
    .where(queue_entries.c.id == _id, queue_entries.c.status == "in_service")
    .values(status="finished", ended_at=_at)
)
_OPEN_ENTRY = (
    _ENTRIES.where(
        queue_entries.c.conversation_id == sa.bindparam("q_conversation"),
        queue_entries.c.status.in_(OPEN_QUEUE_STATUSES),
    )
    .order_by(queue_entries.c.enqueued_at.desc())
    .limit(1)
)
_GET_ENTRY = _ENTRIES.where(queue_entries.c.id == _id)


def _entry(row: sa.Row[Any]) -> QueueEntry:
    return QueueEntry(
        id=row.id,
        conversation_id=row.conversation_id,
        workflow_id=row.workflow_id,
        service_id=row.service_id,
        service_name=row.service_name,
        status=row.status,
        agent_id=row.agent_id,
        enqueued_at=row.enqueued_at,
        picked_up_at=row.picked_up_at,
        ended_at=row.ended_at,
        preview=row.preview,
        priority=row.priority,
        skills=tuple(row.skills or ()),
    )


def enqueue(
    engine: Engine,
    *,
    entry_id: str,
    conversation_id: str,
    workflow_id: str,
    service_id: str,
    preview: str,
    priority: int = 0,
    skills: tuple[str, ...] = (),
) -> str:
    """Put a conversation in a service's queue, in its place by priority with aging (once: a
    retry finds its entry)."""
    entry = NewEntry(entry_id, conversation_id, workflow_id, preview, priority, skills)
    with engine.begin() as conn:
        enqueue_on(conn, entry, service_id)
    return entry_id


def claim(engine: Engine, entry_id: str, agent_id: str) -> Claim:
    """Give the waiting entry to the agent if it is still waiting and the agent may take it."""
    with engine.begin() as conn:
        agent = capacity.locked_agent(conn, agent_id)
        entry = conn.execute(_ENTRY_ROW, {"q_id": entry_id, "q_agent": agent_id}).first()
        if agent is None or entry is None:
            return Claim("taken", "the conversation is not waiting")
        if entry.status == "in_service" and entry.agent_id == agent_id:
            return Claim("ok")  # a retry of a claim that already went through
        if entry.served is None:
            return Claim("not_your_service", "the conversation is not in one of your services")
        if not routing.has_skills(agent.skills or (), entry.skills or ()):
            return Claim("not_your_service", "the conversation needs skills you do not have")
        if agent.status != "available":
            return Claim("not_available", f"you are {agent.status}; go available to take contacts")
        if offers.offered_to_other(conn, entry_id, agent_id):
            return Claim("taken", "the conversation is offered to another agent")
        full = capacity.claim_refusal(conn, agent, entry)  # the agent's, then the service's
        if full is not None:
            return Claim(*full)
        at = now()
        taken = conn.execute(_TAKE, {"q_id": entry_id, "q_agent": agent_id, "q_at": at})
        if taken.rowcount != 1:
            return Claim("taken", "another agent took the conversation, or it ended")
        offers.accepted(conn, entry_id, agent_id)
        service_totals.answered(conn, entry_id, (at - entry.enqueued_at).total_seconds())
        notify.queue_changed(conn)
    return Claim("ok")


def close_waiting(engine: Engine, entry_id: str, status: QueueStatus) -> bool:
    """Close a still-waiting entry (abandoned, voicemail); False when a pickup came first. A
    retry of a close that committed (its answer lost) is True again, not taken for a pickup."""
    with engine.begin() as conn:
        closed = conn.execute(_CLOSE_WAITING, {"q_id": entry_id, "q_status": status, "q_at": now()})
        if closed.rowcount != 1:
            row = conn.execute(_GET_ENTRY, {"q_id": entry_id}).first()
            return row is not None and row.status == status and row.picked_up_at is None
        offers.withdraw(conn, entry_id)
        if status == "abandoned":
            service_totals.abandoned(conn, entry_id)
        notify.queue_changed(conn)
    return True


def finish(engine: Engine, entry_id: str) -> None:
    """The agent finished: the entry is done and the agent's slot is free."""
    with engine.begin() as conn:
        conn.execute(_FINISH, {"q_id": entry_id, "q_at": now()})
        notify.queue_changed(conn)


def transfer(engine: Engine, entry_id: str, target_service_id: str, new_id: str) -> str:
    """Close the entry as transferred (freeing the agent) and queue at the back of the target
    as `new_id` (once: a retry finds the new entry)."""
    with engine.begin() as conn:
        if _exists(conn, new_id):
            return new_id
        entry = conn.execute(sa.select(queue_entries).where(queue_entries.c.id == entry_id)).one()
        conn.execute(
            queue_entries.update()
            .where(queue_entries.c.id == entry_id)
            .values(status="transferred", ended_at=now())
        )
        at = now()
        conn.execute(
            queue_entries.insert().values(
                id=new_id,
                conversation_id=entry.conversation_id,
                workflow_id=entry.workflow_id,
                service_id=target_service_id,
                status="waiting",
                enqueued_at=at,
                preview=entry.preview,
                priority=entry.priority,
                skills=entry.skills,
                rank_at=routing.rank_at(at, entry.priority),
            )
        )
        notify.queue_changed(conn)
    return new_id


def staffing(engine: Engine, service_id: str) -> Staffing:
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(agents.c.status, sa.func.count())
            .join(agent_services, agent_services.c.agent_id == agents.c.id)
            .where(agent_services.c.service_id == service_id)
            .group_by(agents.c.status)
        ).all()
    counts = {status: count for status, count in rows}
    return Staffing(
        logged_in=sum(counts.get(status, 0) for status in ("available", "paused", "away")),
        available=counts.get("available", 0),
    )


def open_entry(engine: Engine, conversation_id: str) -> QueueEntry | None:
    """The conversation's waiting or in-service entry, if any."""
    with reads(engine) as conn:
        row = conn.execute(_OPEN_ENTRY, {"q_conversation": conversation_id}).first()
    return _entry(row) if row is not None else None


def get_entry(engine: Engine, entry_id: str) -> QueueEntry:
    """The entry with this id, open or closed (NotFound when there is none)."""
    with reads(engine) as conn:
        row = conn.execute(_GET_ENTRY, {"q_id": entry_id}).first()
    if row is None:
        raise NotFound(f"no queue entry {entry_id!r}")
    return _entry(row)


def position(engine: Engine, entry_id: str) -> int | None:
    """1 for the next in line (queue order: priority with aging, omni/routing.py); None when
    the entry is no longer waiting."""
    with reads(engine) as conn:
        return position_on(conn, entry_id)


_SKILLS = sa.select(agents.c.skills).where(agents.c.id == _agent)
_OFFERED_FIRST = _ENTRIES.where(
    queue_entries.c.id.in_(offers.offered_to(_agent)), queue_entries.c.status == "waiting"
).order_by(rank_order, queue_entries.c.id)
_MINE = sa.select(agent_services.c.service_id).where(
    agent_services.c.agent_id == _agent,
    agent_services.c.service_id.not_in(sa.bindparam("q_skip", expanding=True)),
)
_WAITING_IN = {
    leased: _ENTRIES.where(
        queue_entries.c.service_id == _service,
        queue_entries.c.status == "waiting",
        queue_entries.c.id.not_in(offers.reserved_entries(excluding_agent=_agent)),
        next_lease.free_for(_agent, _at) if leased else sa.true(),
    )
    .order_by(rank_order, queue_entries.c.id)
    .limit(sa.bindparam("q_limit", type_=sa.Integer))
    for leased in (False, True)
}
"""A service's waiting entries `next` may take, with the lease (True) or without."""


def waiting_for_agent(
    engine: Engine,
    agent_id: str,
    limit: int = 100,
    skip_services: Collection[str] = (),
    lease_free_at: datetime | None = None,
) -> list[QueueEntry]:
    """Waiting entries of the agent's services the agent may take: those offered to it first
    (its offer holds the slot, even in a service where it is full), then in queue order
    (priority with aging; omni/routing.py); not those needing skills it lacks, nor those
    offered to another agent, nor those of `skip_services` (`next`: where the agent is full);
    with `lease_free_at` (`next`), not those another agent's `next` leases then
    (store/next_lease.py)."""
    params = {"q_agent": agent_id, "q_skip": list(skip_services), "q_limit": limit * 4}
    with reads(engine) as conn:
        skills = conn.scalar(_SKILLS, params) or ()
        first = [_entry(row) for row in conn.execute(_OFFERED_FIRST, params)]
        found = []
        waiting = _WAITING_IN[lease_free_at is not None]
        for service_id in conn.scalars(_MINE, params).all():  # an index range each, no sort (0014)
            rows = conn.execute(waiting, {**params, "q_service": service_id, "q_at": lease_free_at})
            found += [(row.rank_at or row.enqueued_at, row.id, _entry(row)) for row in rows]
    found.sort(key=lambda item: item[:2])
    taken = {entry.id for entry in first}
    rest = [e for *_, e in found if e.id not in taken and routing.has_skills(skills, e.skills)]
    return (first + rest)[:limit]


def in_service_for_agent(engine: Engine, agent_id: str) -> list[QueueEntry]:
    """The entries the agent has now, in pickup order."""
    with reads(engine) as conn:
        rows = conn.execute(
            _entries()
            .where(queue_entries.c.agent_id == agent_id, queue_entries.c.status == "in_service")
            .order_by(queue_entries.c.picked_up_at, queue_entries.c.id)
        )
        return [_entry(row) for row in rows]


def metrics(engine: Engine, service_id: str) -> ServiceMetrics:
    """The service's SLA figures, from its queue entries (NotFound for an unknown service); the
    estimated wait is the one a customer queueing now would be told (store/wait_history.py),
    read at the same moment: None with nobody of the service online, or with nobody available
    where the service offers voicemail instead (workflows/humano.py tells no wait then)."""
    with reads(engine) as conn:
        service = conn.execute(sa.select(services).where(services.c.id == service_id)).one_or_none()
        if service is None:
            raise NotFound(f"no service {service_id!r}")
        rows = conn.execute(
            sa.select(
                queue_entries.c.status, queue_entries.c.enqueued_at, queue_entries.c.picked_up_at
            ).where(queue_entries.c.service_id == service_id)
        ).all()
        waiting = sum(1 for status, _, _ in rows if status == "waiting")
        staff_rows = wait_history.staff(conn, service_id)
        voicemail = service.voicemail_seconds > 0 and wait_history.available(staff_rows) == 0
        found = wait_history.recent(
            conn, service_id, staff_rows, service.answer_time_seconds, service.agent_capacity
        )
    estimated = None if voicemail else wait_history.estimate(found, waiting + 1)
    waits = [(picked - queued).total_seconds() for _, queued, picked in rows if picked is not None]
    statuses = [status for status, _, _ in rows]
    answered = len(waits)
    within = sum(1 for wait in waits if wait <= service.answer_time_seconds)
    abandoned = statuses.count("abandoned")
    offered = answered + abandoned
    return ServiceMetrics(
        service=service.name,
        waiting=waiting,
        in_service=statuses.count("in_service"),
        answered=answered,
        answered_within_target=within,
        service_level_percent=round(100 * within / offered, 1) if offered else None,
        target_service_level_percent=service.service_level_percent,
        answer_time_seconds=service.answer_time_seconds,
        abandoned=abandoned,
        average_wait_seconds=round(sum(waits) / answered, 1) if answered else None,
        estimated_wait_seconds=estimated,
    )


def _exists(conn: Connection, entry_id: str) -> bool:
    found = conn.execute(sa.select(queue_entries.c.id).where(queue_entries.c.id == entry_id))
    return found.first() is not None
