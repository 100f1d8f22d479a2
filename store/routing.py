"""Automatic assignment in SQL: offers of waiting conversations to agents, decided race-free.

`dispatch` makes every offer that can be made now in the auto services it is asked about, in one
transaction: it locks the services and then their agents (PostgreSQL row locks, in id order; on
SQLite its first statement is a write, so it holds the writer lock), withdraws offers whose entry
stopped waiting, lapses overdue offers (a backstop for a lost lapse timer), then matches waiting
entries without an open offer to agents with a free slot (omni/routing.match). A free slot
counts conversations in service and open offers, so capacity holds across offers and manual
pickups (the claim counts offers too); the partial unique index on open offers per entry makes a
second offer of one entry impossible. `decline` and `lapse` take the same locks in the same
order first, then end the offer conditionally (`WHERE status = 'open'`) and dispatch again.
Accepting is the normal claim (store/queue.claim), which turns the offer `accepted`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from omni import routing
from omni.routing import NEVER
from store import capacity, notify
from store.common import is_postgres, new_id, now
from store.db import reads
from store.offers import Offer, _offer, _offer_rows, entry_offer, get_offer, open_offers
from store.tables import agent_services, agents, offers, queue_entries, services

__all__ = ["Offer", "entry_offer", "get_offer", "open_offers"]  # the offer reads, here too

DISPATCH_BATCH = 200
"""Waiting entries of one service looked at per page (the front of the line first)."""
DISPATCH_PAGES = 10
"""Pages looked at per dispatch while agents stay free (the rest waits for the next one)."""


def dispatch(
    engine: Engine, service_ids: Iterable[str] = (), *, agent_id: str | None = None
) -> list[Offer]:
    """Make the offers that can be made now in these services (and the agent's), auto only."""
    with engine.begin() as conn:
        made = _dispatch(conn, set(service_ids), agent_id)
        if made:
            notify.queue_changed(conn)
    return made


def decline(engine: Engine, offer_id: str, agent_id: str) -> list[Offer] | None:
    """The agent declines its open offer (None: no such open offer of this agent); the entry
    goes to the next agent. A decline is an answer: the agent's lapse count starts again."""
    with engine.begin() as conn:
        service_id = _lock_offer(conn, offer_id)
        row = _end_offer(conn, offer_id, "declined", agent_id=agent_id)
        if service_id is None or row is None:
            return None
        conn.execute(agents.update().where(agents.c.id == agent_id).values(lapses=0))
        made = _dispatch(conn, {service_id}, None)
        notify.queue_changed(conn)
    return made


def lapse(engine: Engine, offer_id: str) -> list[Offer]:
    """The offer's time passed unanswered: it lapses (if still open), the agent's lapse count
    grows, at the service's `max_lapses` in a row the agent becomes `away`; then dispatch (also
    when the offer had already ended: its end may have freed a slot nobody filled yet)."""
    with engine.begin() as conn:
        service_id = _lock_offer(conn, offer_id)
        if service_id is None:
            return []  # the offer is gone (its agent was deleted: the API dispatched then)
        row = _end_offer(conn, offer_id, "lapsed")
        if row is not None:
            _count_lapse(conn, row.agent_id, row.max_lapses)
        made = _dispatch(conn, {service_id}, None)
        notify.queue_changed(conn)
    return made


def withdraw_agent(engine: Engine, agent_id: str) -> list[Offer]:
    """The agent stopped being available: its open offers end (`withdrawn`) and go to the
    other agents of their services at once."""
    with engine.begin() as conn:
        ids = sorted(
            conn.scalars(
                sa.select(queue_entries.c.service_id)
                .join(offers, offers.c.entry_id == queue_entries.c.id)
                .where(offers.c.agent_id == agent_id, offers.c.status == "open")
            )
        )
        if not ids:
            return []
        _lock(conn, ids)
        conn.execute(
            offers.update()
            .where(offers.c.agent_id == agent_id, offers.c.status == "open")
            .values(status="withdrawn", ended_at=now())
        )
        made = _dispatch(conn, set(ids), None)
        notify.queue_changed(conn)
    return made


def sweep(engine: Engine) -> list[Offer]:
    """Every auto service: lapse overdue offers whose timer was lost, make what can be made
    (the backstop run periodically by the API, store/routing.LAPSE_GRACE)."""
    with reads(engine) as conn:
        ids = list(conn.scalars(sa.select(services.c.id).where(services.c.assignment == "auto")))
    return dispatch(engine, ids) if ids else []


def _end_offer(conn: Connection, offer_id: str, status: str, *, agent_id: str | None = None) -> Any:
    """Close the offer if it is still open (and the agent's); its service and max lapses."""
    where = [offers.c.id == offer_id, offers.c.status == "open"]
    if agent_id is not None:
        where.append(offers.c.agent_id == agent_id)
    ended = conn.execute(offers.update().where(*where).values(status=status, ended_at=now()))
    if ended.rowcount != 1:
        return None
    return conn.execute(
        sa.select(offers.c.agent_id, queue_entries.c.service_id, services.c.max_lapses)
        .join(queue_entries, queue_entries.c.id == offers.c.entry_id)
        .join(services, services.c.id == queue_entries.c.service_id)
        .where(offers.c.id == offer_id)
    ).one()


def _count_lapse(conn: Connection, agent_id: str, max_lapses: int) -> None:
    conn.execute(agents.update().where(agents.c.id == agent_id).values(lapses=agents.c.lapses + 1))
    conn.execute(
        agents.update()
        .where(
            agents.c.id == agent_id,
            agents.c.lapses >= max_lapses,
            agents.c.status == "available",
        )
        .values(status="away", status_changed_at=now(), lapses=0)
    )


_AUTO = sa.select(services.c.id).where(  # built once: every finish asks (store/hand_over.py)
    services.c.assignment == "auto",
    services.c.id.in_(sa.bindparam("ids", expanding=True))
    | services.c.id.in_(  # the agent's services (none for agent None: `= NULL` holds for none)
        sa.select(agent_services.c.service_id).where(
            agent_services.c.agent_id == sa.bindparam("agent")
        )
    ),
)


def _dispatch(conn: Connection, service_ids: set[str], agent_id: str | None) -> list[Offer]:
    ids = sorted(conn.scalars(_AUTO, {"ids": list(service_ids), "agent": agent_id}))
    if not ids:
        return []
    _lock(conn, ids)
    _withdraw_stale(conn, ids)
    for offer_id, max_lapses, agent in _overdue(conn, ids):
        if _end_offer(conn, offer_id, "lapsed") is not None:
            _count_lapse(conn, agent, max_lapses)
    made: list[Offer] = []
    for service_id in ids:
        made += _dispatch_service(conn, service_id)
    return made


def _lock_offer(conn: Connection, offer_id: str) -> str | None:
    """Lock as a dispatch does (the offer's service, then the agents), before ending the
    offer: the same order everywhere, so no lock cycle. The offer's service id."""
    service_id = conn.scalar(
        sa.select(queue_entries.c.service_id)
        .join(offers, offers.c.entry_id == queue_entries.c.id)
        .where(offers.c.id == offer_id)
    )
    if service_id is not None:
        _lock(conn, [service_id])
    return service_id


def _lock(conn: Connection, service_ids: list[str]) -> None:
    """Services, then their agents and the agents holding open offers of their entries, each
    in id order. Decline and lapse lock the same way before they touch an agent; claims lock
    one agent and no service: no cycle."""
    agent_ids = sa.union(
        sa.select(agent_services.c.agent_id).where(agent_services.c.service_id.in_(service_ids)),
        sa.select(offers.c.agent_id)
        .join(queue_entries, queue_entries.c.id == offers.c.entry_id)
        .where(offers.c.status == "open", queue_entries.c.service_id.in_(service_ids)),
    )
    if is_postgres(conn):
        conn.execute(
            sa.select(services.c.id)
            .where(services.c.id.in_(service_ids))
            .order_by(services.c.id)
            .with_for_update()
        )
        conn.execute(
            sa.select(agents.c.id)
            .where(agents.c.id.in_(agent_ids))
            .order_by(agents.c.id)
            .with_for_update()
        )
    else:  # a first write: this transaction holds SQLite's writer lock from here on
        conn.execute(
            services.update()
            .where(services.c.id.in_(service_ids))
            .values(assignment=services.c.assignment)
        )


def _withdraw_stale(conn: Connection, service_ids: list[str]) -> None:
    """Open offers whose entry stopped waiting (a close that raced an earlier dispatch on
    PostgreSQL, which locks no entry) end here, so they hold no agent's slot."""
    stopped = (
        sa.select(queue_entries.c.id)
        .where(
            queue_entries.c.id == offers.c.entry_id,
            queue_entries.c.service_id.in_(service_ids),
            queue_entries.c.status != "waiting",
        )
        .exists()
    )  # from the open offers (a partial index), not the service's whole history
    conn.execute(
        offers.update()
        .where(offers.c.status == "open", stopped)
        .values(status="withdrawn", ended_at=now())
    )


def _overdue(conn: Connection, service_ids: list[str]) -> list[Any]:
    return list(
        conn.execute(
            sa.select(offers.c.id, services.c.max_lapses, offers.c.agent_id)
            .join(queue_entries, queue_entries.c.id == offers.c.entry_id)
            .join(services, services.c.id == queue_entries.c.service_id)
            .where(
                queue_entries.c.service_id.in_(service_ids),
                offers.c.status == "open",
                offers.c.expires_at < now() - LAPSE_GRACE,
            )
        )
    )


LAPSE_GRACE = timedelta(seconds=5)
"""How long past its time an offer stays open waiting for its workflow's lapse timer before a
dispatch lapses it itself (the backstop when the timer's Signal was lost)."""


def _dispatch_service(conn: Connection, service_id: str) -> list[Offer]:
    """Offer the front of the line to the free agents, a page of DISPATCH_BATCH at a time while
    slots stay free (a page of entries needing skills nobody free has blocks no one behind)."""
    service = conn.execute(sa.select(services).where(services.c.id == service_id)).one()
    free = capacity.within_service(conn, service, _free_agents(conn, service_id))
    seen: list[str] = []
    ids: list[str] = []
    for _ in range(DISPATCH_PAGES):
        rows = _waiting_page(conn, service_id, seen) if free else []
        if not rows:
            break
        seen += [row.id for row in rows]
        tried, declined_by = _tried(conn, [row.id for row in rows])
        waiting = [
            routing.Waiting(
                entry_id=row.id,
                rank_at=row.rank_at or row.enqueued_at,
                skills=tuple(row.skills or ()),
                tried=tried.get(row.id, {}),
                declined_by=declined_by.get(row.id),
            )
            for row in rows
        ]
        made_at = now()
        expires_at = made_at + timedelta(seconds=service.offer_seconds)
        pairs = routing.match(waiting, free)
        for entry_id, agent_id in pairs:
            offer_id = new_id("ofr")
            conn.execute(
                offers.insert().values(
                    id=offer_id,
                    entry_id=entry_id,
                    agent_id=agent_id,
                    status="open",
                    created_at=made_at,
                    expires_at=expires_at,
                )
            )
            ids.append(offer_id)
        taken = Counter(agent_id for _, agent_id in pairs)
        free = [
            replace(agent, free_slots=agent.free_slots - taken[agent.agent_id])
            for agent in free
            if agent.free_slots > taken[agent.agent_id]
        ]
        if len(rows) < DISPATCH_BATCH:
            break
    if not ids:
        return []
    return [_offer(row) for row in conn.execute(_offer_rows().where(offers.c.id.in_(ids)))]


def _waiting_page(conn: Connection, service_id: str, seen: list[str]) -> list[Any]:
    """The next waiting entries without an open offer, in queue order, not yet looked at."""
    offered = sa.select(offers.c.entry_id).where(offers.c.status == "open")
    query = (
        sa.select(
            queue_entries.c.id,
            queue_entries.c.rank_at,
            queue_entries.c.enqueued_at,
            queue_entries.c.skills,
        )
        .where(
            queue_entries.c.service_id == service_id,
            queue_entries.c.status == "waiting",
            queue_entries.c.id.not_in(offered),
        )
        .order_by(
            sa.func.coalesce(queue_entries.c.rank_at, queue_entries.c.enqueued_at),
            queue_entries.c.id,
        )
        .limit(DISPATCH_BATCH)
    )
    if seen:
        query = query.where(queue_entries.c.id.not_in(seen))
    return list(conn.execute(query).all())


def _free_agents(conn: Connection, service_id: str) -> list[routing.FreeAgent]:
    in_service = (
        sa.select(sa.func.count())
        .where(queue_entries.c.agent_id == agents.c.id, queue_entries.c.status == "in_service")
        .scalar_subquery()
    )
    open_offers = (
        sa.select(sa.func.count())
        .where(offers.c.agent_id == agents.c.id, offers.c.status == "open")
        .scalar_subquery()
    )
    last_assigned = (
        sa.select(sa.func.max(queue_entries.c.picked_up_at))
        .where(queue_entries.c.agent_id == agents.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            agents.c.id,
            agents.c.capacity,
            agents.c.skills,
            agents.c.status_changed_at,
            in_service.label("busy"),
            open_offers.label("offered"),
            last_assigned.label("last_assigned"),
        )
        .join(agent_services, agent_services.c.agent_id == agents.c.id)
        .where(agent_services.c.service_id == service_id, agents.c.status == "available")
    ).all()
    return [
        routing.FreeAgent(
            agent_id=row.id,
            free_slots=row.capacity - row.busy - row.offered,
            skills=tuple(row.skills or ()),
            idle_since=max(_aware(row.last_assigned) or NEVER, row.status_changed_at),
        )
        for row in rows
        if row.capacity - row.busy - row.offered > 0
    ]


def _aware(value: datetime | None) -> datetime | None:
    """MAX() over a UtcDateTime column skips the type's reader on SQLite (a string or naive)."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _tried(
    conn: Connection, entry_ids: list[str]
) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """Per entry: how many offers each agent had, and who declined the latest one."""
    counts: dict[str, dict[str, int]] = {}
    latest: dict[str, tuple[str, str]] = {}
    rows = conn.execute(
        sa.select(offers.c.entry_id, offers.c.agent_id, offers.c.status)
        .where(offers.c.entry_id.in_(entry_ids))
        .order_by(offers.c.created_at, offers.c.id)
    )
    for entry_id, agent_id, status in rows:
        per_agent = counts.setdefault(entry_id, {})
        per_agent[agent_id] = per_agent.get(agent_id, 0) + 1
        latest[entry_id] = (agent_id, status)
    declined = {entry: agent for entry, (agent, status) in latest.items() if status == "declined"}
    return counts, declined
