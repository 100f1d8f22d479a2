"""Every service's queue figures at once, for the metrics scrape (three grouped queries).

`store/queue.py`'s `metrics` reads one service's whole history into Python; a scrape every few
seconds asks for every service, so this module lets SQL count and group instead. The figures
mean the same as `ServiceMetrics` (`tests/test_metrics.py` checks they agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from store.common import is_postgres
from store.db import reads
from store.tables import agent_services, agents, offers, queue_entries, services


@dataclass(frozen=True)
class ServiceFigures:
    """One service now: its queue, its people in service, its totals since it began."""

    service_id: str
    service: str
    waiting: int
    in_service: int
    abandoned: int
    answered: int
    answered_within_target: int
    oldest_waiting_since: datetime | None
    target_service_level_percent: int
    answer_time_seconds: int

    @property
    def service_level_percent(self) -> float | None:
        """Answered within the answer time over answered plus abandoned (as ServiceMetrics)."""
        offered = self.answered + self.abandoned
        return round(100 * self.answered_within_target / offered, 1) if offered else None


def service_figures(engine: Engine) -> list[ServiceFigures]:
    """Every service's figures, by service name."""
    with reads(engine) as conn:
        configured = conn.execute(
            sa.select(
                services.c.id,
                services.c.name,
                services.c.answer_time_seconds,
                services.c.service_level_percent,
            )
        ).all()
        counts = _counts_by_status(conn)
        answered = _answered(conn)
    figures = []
    for service_id, name, answer_time, target in sorted(configured, key=lambda row: row[1]):
        by_status = counts.get(service_id, {})
        total, within = answered.get(service_id, (0, 0))
        figures.append(
            ServiceFigures(
                service_id=service_id,
                service=name,
                waiting=by_status.get("waiting", (0, None))[0],
                in_service=by_status.get("in_service", (0, None))[0],
                abandoned=by_status.get("abandoned", (0, None))[0],
                answered=total,
                answered_within_target=within,
                oldest_waiting_since=by_status.get("waiting", (0, None))[1],
                target_service_level_percent=target,
                answer_time_seconds=answer_time,
            )
        )
    return figures


def _counts_by_status(conn: Connection) -> dict[str, dict[str, tuple[int, datetime | None]]]:
    """service id → status → (entries, earliest enqueued)."""
    rows = conn.execute(
        sa.select(
            queue_entries.c.service_id,
            queue_entries.c.status,
            sa.func.count(),
            sa.func.min(queue_entries.c.enqueued_at),
        )
        .where(queue_entries.c.service_id.is_not(None))
        .group_by(queue_entries.c.service_id, queue_entries.c.status)
    ).all()
    found: dict[str, dict[str, tuple[int, datetime | None]]] = {}
    for service_id, status, count, earliest in rows:
        found.setdefault(service_id, {})[status] = (int(count), earliest)
    return found


def _answered(conn: Connection) -> dict[str, tuple[int, int]]:
    """service id → (entries picked up, of them picked up within the service's answer time)."""
    waited = seconds_between(conn, queue_entries.c.picked_up_at, queue_entries.c.enqueued_at)
    within = sa.case((waited <= services.c.answer_time_seconds, 1), else_=0)
    rows = conn.execute(
        sa.select(queue_entries.c.service_id, sa.func.count(), sa.func.sum(within))
        .join(services, services.c.id == queue_entries.c.service_id)
        .where(queue_entries.c.picked_up_at.is_not(None))
        .group_by(queue_entries.c.service_id)
    ).all()
    return {service_id: (int(count), int(inside or 0)) for service_id, count, inside in rows}


def seconds_between(
    conn: Connection, later: sa.ColumnElement[Any], earlier: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    """Seconds from `earlier` to `later`, in SQL (each backend has its own date arithmetic;
    SQLite's julianday is exact to about a millisecond)."""
    if is_postgres(conn):
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def epoch_seconds(conn: Connection, moment: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Seconds since 1970-01-01 UTC of a timestamp column, in SQL."""
    if is_postgres(conn):
        return sa.extract("epoch", moment)
    return (sa.func.julianday(moment) - 2440587.5) * 86400.0


def agents_by_state(engine: Engine) -> dict[str, dict[str, int]]:
    """service id → agent status → agents of the service in it (every status the table holds)."""
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(agent_services.c.service_id, agents.c.status, sa.func.count())
            .join(agents, agents.c.id == agent_services.c.agent_id)
            .group_by(agent_services.c.service_id, agents.c.status)
        ).all()
    found: dict[str, dict[str, int]] = {}
    for service_id, status, count in rows:
        found.setdefault(service_id, {})[status] = int(count)
    return found


def open_offers_by_service(engine: Engine) -> dict[str, int]:
    """service id → offers open now (made to an agent, not yet accepted, declined or lapsed)."""
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(queue_entries.c.service_id, sa.func.count())
            .join(queue_entries, queue_entries.c.id == offers.c.entry_id)
            .where(offers.c.status == "open", queue_entries.c.service_id.is_not(None))
            .group_by(queue_entries.c.service_id)
        ).all()
    return {service_id: int(count) for service_id, count in rows}
