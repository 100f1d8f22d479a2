"""Every service's queue figures at once, for the supervisor's live view and the metrics scrape.

`store/queue.py`'s `metrics` reads one service's whole history into Python; a scrape every few
seconds asks for every service, so this module lets SQL count and group instead. What is open
now (waiting, in service, the first in line) is read from the open entries' partial index
(0022), not from every entry ever made; the scrape's totals since a service began (abandoned,
answered, answered within the answer time) are one row per service that the writers keep
(store/service_totals.py, 0023). The figures mean the same as `ServiceMetrics`
(`tests/test_metrics.py` checks they agree), except that a pickup counts as within the target
by the answer time in force when it was picked up, where `ServiceMetrics` recounts every pickup
against today's: the counters never go down when a service's answer time is edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from store import service_totals
from store.common import is_postgres
from store.db import reads
from store.tables import OPEN_STATUSES, agent_services, agents, offers, queue_entries, services


@dataclass(frozen=True)
class ServiceQueue:
    """One service's open entries now: who waits, who is with an agent, since when the first in
    line waits."""

    service_id: str
    service: str
    waiting: int
    in_service: int
    oldest_waiting_since: datetime | None


@dataclass(frozen=True)
class ServiceFigures(ServiceQueue):
    """One service now (its queue, its people in service) and its totals since it began."""

    abandoned: int
    answered: int
    answered_within_target: int
    target_service_level_percent: int
    answer_time_seconds: int

    @property
    def service_level_percent(self) -> float | None:
        """Answered within the answer time over answered plus abandoned (as ServiceMetrics)."""
        offered = self.answered + self.abandoned
        return round(100 * self.answered_within_target / offered, 1) if offered else None


def open_queues(engine: Engine) -> list[ServiceQueue]:
    """Every service's open entries, by service name (the supervisor's live view: no history)."""
    with reads(engine) as conn:
        configured = conn.execute(sa.select(services.c.id, services.c.name)).all()
        counts = _open_counts(conn)
    return [
        ServiceQueue(service_id, name, *_queue_of(counts.get(service_id, {})))
        for service_id, name in sorted(configured, key=lambda row: row[1])
    ]


def service_figures(engine: Engine) -> list[ServiceFigures]:
    """Every service's figures, by service name (the metrics scrape: its counters are totals,
    read from store/service_totals.py's rows, O(services), not from the history)."""
    with reads(engine) as conn:
        configured = conn.execute(
            sa.select(
                services.c.id,
                services.c.name,
                services.c.answer_time_seconds,
                services.c.service_level_percent,
            )
        ).all()
        counts = _open_counts(conn)
        counted = service_totals.totals(conn)
    figures = []
    for service_id, name, answer_time, target in sorted(configured, key=lambda row: row[1]):
        abandoned, answered, within = counted.get(service_id, (0, 0, 0))
        figures.append(
            ServiceFigures(
                service_id,
                name,
                *_queue_of(counts.get(service_id, {})),
                abandoned=abandoned,
                answered=answered,
                answered_within_target=within,
                target_service_level_percent=target,
                answer_time_seconds=answer_time,
            )
        )
    return figures


ByStatus = dict[str, tuple[int, datetime | None]]
"""open status → (entries, earliest enqueued), of one service."""


def open_counts_query() -> sa.Select[str, str, int, datetime | None]:
    """The open entries grouped by service and status. The statuses are written into the SQL
    (`OPEN_STATUSES`): as bound parameters SQLite does not match the partial index's predicate
    (nor could PostgreSQL's generic plans)."""
    return (
        sa.select(
            queue_entries.c.service_id,
            queue_entries.c.status,
            sa.func.count(),
            sa.func.min(queue_entries.c.enqueued_at),
        )
        .where(queue_entries.c.service_id.is_not(None), queue_entries.c.status.in_(OPEN_STATUSES))
        .group_by(queue_entries.c.service_id, queue_entries.c.status)
    )


def _open_counts(conn: Connection) -> dict[str, ByStatus]:
    found: dict[str, ByStatus] = {}
    for service_id, status, count, earliest in conn.execute(open_counts_query()).all():
        found.setdefault(service_id, {})[status] = (int(count), earliest)
    return found


def _queue_of(by_status: ByStatus) -> tuple[int, int, datetime | None]:
    """(waiting, in service, first in line's enqueue time) of one service's open counts."""
    waiting, oldest = by_status.get("waiting", (0, None))
    return waiting, by_status.get("in_service", (0, None))[0], oldest


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
