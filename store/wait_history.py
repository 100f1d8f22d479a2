"""The SQL read behind a customer's estimated wait (and the supervisor's, for a customer queueing
now: store.queue.metrics): the service's recent history (one query set, read-only). The
arithmetic is omni/wait_estimate.py; the position is store.queue's.

The statements are built once, here, with bind parameters: every queued customer reads them
(the hand-over, store/hand_over.py), and building and caching a statement per call was most of
their cost in the worker (bench/README.md, fourth pass).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from omni.wait_estimate import WaitHistory, estimate_seconds
from store.db import reads
from store.tables import agent_services, agents, queue_entries, services

RECENT = 50
"""Finished conversations (and answered customers) of the service looked at."""
RECENT_FOR_FORMER = 20
"""Answered customers whose average wait makes the former estimate: the newest of the RECENT
read."""
PROMPT_PICKUP_SECONDS = 300
"""Waits under this count as pickup delays (the customer found a free agent)."""
LOGGED_IN = ("available", "paused", "away")
"""Online for the hand-over's `check_agents_online` and for the estimate: a paused or away agent
is logged in and comes back; with none of these (every agent offline) there is no estimate."""

_entries = queue_entries
_service_id = sa.bindparam("service_id", type_=sa.String)
_HANDLED = (
    sa.select(_entries.c.picked_up_at, _entries.c.ended_at)
    .where(
        _entries.c.service_id == _service_id,
        _entries.c.status == "finished",
        _entries.c.picked_up_at.is_not(None),
        _entries.c.ended_at.is_not(None),
    )
    .order_by(_entries.c.ended_at.desc())
    .limit(RECENT)
)
_ANSWERED = (
    sa.select(_entries.c.enqueued_at, _entries.c.picked_up_at)
    .where(_entries.c.service_id == _service_id, _entries.c.picked_up_at.is_not(None))
    .order_by(_entries.c.picked_up_at.desc())
    .limit(RECENT)
)
_busy = sa.select(sa.func.count()).where(
    _entries.c.agent_id == agents.c.id, _entries.c.status == "in_service"
)
_available = agents.c.status == "available"
_STAFF = (
    sa.select(
        agents.c.status,
        agents.c.capacity,
        # only an available agent's load is counted (CASE: the subquery runs for those alone)
        sa.case((_available, _busy.scalar_subquery()), else_=0),
        sa.case(
            (_available, _busy.where(_entries.c.service_id == _service_id).scalar_subquery()),
            else_=0,
        ),
    )
    .join(agent_services, agent_services.c.agent_id == agents.c.id)
    .where(agent_services.c.service_id == _service_id)
)
_SERVICE = sa.select(services.c.answer_time_seconds, services.c.agent_capacity).where(
    services.c.id == _service_id
)


@dataclass(frozen=True)
class StaffRow:
    """One agent of the service: its status, capacity, conversations in service (all of its
    services, and this one's; 0 unless available)."""

    status: str
    capacity: int
    busy: int
    busy_here: int


def staff(conn: Connection, service_id: str) -> list[StaffRow]:
    """Every agent of the service (one statement: staffing and free slots both come from it)."""
    rows = conn.execute(_STAFF, {"service_id": service_id})
    return [
        StaffRow(status, capacity, int(busy), int(here)) for status, capacity, busy, here in rows
    ]


def logged_in(rows: Sequence[StaffRow]) -> int:
    """Agents not offline (available, paused or away)."""
    return sum(1 for row in rows if row.status in LOGGED_IN)


def available(rows: Sequence[StaffRow]) -> int:
    return sum(1 for row in rows if row.status == "available")


@dataclass(frozen=True)
class Recent:
    """What the estimate reads of a service's past (two statements) and its present (`staff`)."""

    history: WaitHistory
    waits: list[float]
    """Waits of the newest answered customers, newest first (the former estimate's input)."""
    logged_in: int
    """Agents of the service online (`LOGGED_IN`): none, no estimate."""


def recent(
    conn: Connection,
    service_id: str,
    staff_rows: Sequence[StaffRow],
    target_seconds: int | None,
    agent_capacity: int | None,
) -> Recent:
    """Recent handle times and pickup delays, agents available and their free slots."""
    params = {"service_id": service_id}
    handled = conn.execute(_HANDLED, params).all()
    answered = conn.execute(_ANSWERED, params).all()
    waits = [(p - e).total_seconds() for e, p in answered]
    ready = [row for row in staff_rows if row.status == "available"]
    return Recent(
        WaitHistory(
            handle_seconds=[(end - start).total_seconds() for start, end in handled],
            pickup_seconds=[w for w in waits if w < PROMPT_PICKUP_SECONDS],
            agents=len(ready),
            free_slots=sum(
                max(
                    min(row.capacity - row.busy, (agent_capacity or row.capacity) - row.busy_here),
                    0,
                )
                for row in ready
            ),  # the service's capacity per agent (store/capacity.py) cuts an agent's free slots
            target_seconds=int(target_seconds or 60),
        ),
        waits,
        logged_in(staff_rows),
    )


def estimate(found: Recent, place: int) -> int | None:
    """The estimate for the customer at `place` (omni/wait_estimate.py); None with nobody of the
    service online (no wait is promised then); with agents online but none available (paused,
    away) the former figure: the newest answered customers' average wait x place (the
    answer-time target when nobody was answered yet)."""
    if found.logged_in == 0:
        return None
    seconds = estimate_seconds(found.history, place)
    if seconds is not None:
        return seconds
    newest = found.waits[:RECENT_FOR_FORMER]
    average = sum(newest) / len(newest) if newest else float(found.history.target_seconds)
    agents_available = max(found.history.agents, 1)
    return max(int(math.ceil(average * place / agents_available)), 0)


def _read(conn: Connection, service_id: str) -> Recent:
    service: Any = conn.execute(_SERVICE, {"service_id": service_id}).first()
    target, limit = service if service is not None else (None, None)
    return recent(conn, service_id, staff(conn, service_id), target, limit)


def wait_history(engine: Engine, service_id: str) -> WaitHistory:
    """Recent handle times and pickup delays, agents available and their free slots."""
    with reads(engine) as conn:
        return _read(conn, service_id).history


def estimated_wait(engine: Engine, service_id: str, place: int) -> int | None:
    """The estimate for the customer at `place` (see `estimate`): what the customer is told
    (api/routes/channel.py, activities/omni_queue.py) and, for `place` = waiting + 1, what the
    supervisor reads for a customer queueing now (store.queue.metrics)."""
    with reads(engine) as conn:
        return estimate(_read(conn, service_id), place)
