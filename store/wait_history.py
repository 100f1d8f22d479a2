"""The SQL read behind a customer's estimated wait: the service's recent history (one query
set, read-only). The arithmetic is omni/wait_estimate.py; the position is store.queue's."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine

from omni.wait_estimate import WaitHistory, estimate_seconds
from store import queue
from store.tables import agent_services, agents, queue_entries, services

RECENT = 50
"""Finished conversations (and answered customers) of the service looked at."""
PROMPT_PICKUP_SECONDS = 300
"""Waits under this count as pickup delays (the customer found a free agent)."""


def wait_history(engine: Engine, service_id: str) -> WaitHistory:
    """Recent handle times and pickup delays, agents available and their free slots."""
    entries = queue_entries
    with engine.connect() as conn:
        handled = conn.execute(
            sa.select(entries.c.picked_up_at, entries.c.ended_at)
            .where(
                entries.c.service_id == service_id,
                entries.c.status == "finished",
                entries.c.picked_up_at.is_not(None),
                entries.c.ended_at.is_not(None),
            )
            .order_by(entries.c.ended_at.desc())
            .limit(RECENT)
        ).all()
        answered = conn.execute(
            sa.select(entries.c.enqueued_at, entries.c.picked_up_at)
            .where(entries.c.service_id == service_id, entries.c.picked_up_at.is_not(None))
            .order_by(entries.c.picked_up_at.desc())
            .limit(RECENT)
        ).all()
        busy = sa.select(sa.func.count()).where(
            entries.c.agent_id == agents.c.id, entries.c.status == "in_service"
        )
        here = busy.where(entries.c.service_id == service_id)  # this service's
        staff = conn.execute(
            sa.select(agents.c.capacity, busy.scalar_subquery(), here.scalar_subquery())
            .join(agent_services, agent_services.c.agent_id == agents.c.id)
            .where(agent_services.c.service_id == service_id, agents.c.status == "available")
        ).all()
        service = conn.execute(
            sa.select(services.c.answer_time_seconds, services.c.agent_capacity).where(
                services.c.id == service_id
            )
        ).first()
    target, limit = service if service is not None else (None, None)
    waits = [(p - e).total_seconds() for e, p in answered]
    return WaitHistory(
        handle_seconds=[(end - start).total_seconds() for start, end in handled],
        pickup_seconds=[w for w in waits if w < PROMPT_PICKUP_SECONDS],
        agents=len(staff),
        free_slots=sum(
            max(min(capacity - int(used), (limit or capacity) - int(used_here)), 0)
            for capacity, used, used_here in staff
        ),  # the service's capacity per agent (store/capacity.py) cuts an agent's free slots
        target_seconds=int(target or 60),
    )


def estimated_wait(engine: Engine, service_id: str, place: int) -> int:
    """The estimate for the customer at `place` (omni/wait_estimate.py); with nobody available
    the former figure (recent average wait x place, `store.queue.estimated_wait_seconds`)."""
    seconds = estimate_seconds(wait_history(engine, service_id), place)
    if seconds is None:
        return queue.estimated_wait_seconds(engine, service_id, place)
    return seconds
