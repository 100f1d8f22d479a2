"""Each service's history from its queue entries, in grouped SQL: a period's figures (service
level, speed of answer, abandonment, handle time) and the half-hour buckets staffing advice
is forecast from. Runs on SQLite and PostgreSQL.

An entry belongs to the period (or the half hour) it was enqueued in. Answered: picked up by an
agent; abandoned: left the queue before a pickup; handled: picked up and ended (finished or
transferred), its handle time from pickup to end.

A requeue (care rule `agent_silence_action: requeue`) continues the same contact in a new entry
that keeps the first `enqueued_at`: it is the same contact, not a second arrival; its handling
adds to the contact's handle time, and its wait (which holds the first agent's handling) is not
a speed of answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from omni.staffing_forecast import HalfHour
from store.db import reads
from store.queue_figures import epoch_seconds, seconds_between
from store.tables import queue_entries, services

HALF_HOUR = 1800


@dataclass(frozen=True)
class PeriodFigures:
    """One service's contacts enqueued in a period."""

    service_id: str
    service: str
    target_service_level_percent: int
    answer_time_seconds: int
    answered: int = 0
    answered_within_target: int = 0
    abandoned: int = 0
    wait_seconds_total: float = 0.0
    """Of answered contacts, enqueue to pickup."""
    handled: int = 0
    handle_seconds_total: float = 0.0

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned

    @property
    def service_level_percent(self) -> float | None:
        """Answered within the answer time over answered plus abandoned (as ServiceMetrics)."""
        return _percent(self.answered_within_target, self.offered)

    @property
    def abandonment_percent(self) -> float | None:
        return _percent(self.abandoned, self.offered)

    @property
    def average_speed_of_answer_seconds(self) -> float | None:
        return round(self.wait_seconds_total / self.answered, 1) if self.answered else None

    @property
    def average_handle_seconds(self) -> float | None:
        return round(self.handle_seconds_total / self.handled, 1) if self.handled else None


def period_figures(engine: Engine, start: datetime, end: datetime) -> list[PeriodFigures]:
    """Every service's figures for the contacts enqueued in [start, end), by service name."""
    with reads(engine) as conn:
        configured = conn.execute(
            sa.select(
                services.c.id,
                services.c.name,
                services.c.service_level_percent,
                services.c.answer_time_seconds,
            ).order_by(services.c.name)
        ).all()
        rows = {row.service_id: row for row in conn.execute(_period_query(conn, start, end))}
    figures = []
    for service_id, name, target, answer_time in configured:
        row = rows.get(service_id)
        base = PeriodFigures(service_id, name, target, answer_time)
        if row is not None:
            base = PeriodFigures(
                service_id,
                name,
                target,
                answer_time,
                answered=int(row.answered or 0),
                answered_within_target=int(row.within or 0),
                abandoned=int(row.abandoned or 0),
                wait_seconds_total=float(row.waits or 0),
                handled=int(row.handled or 0),
                handle_seconds_total=float(row.handling or 0),
            )
        figures.append(base)
    return figures


def _continued() -> sa.ColumnElement[bool]:
    """The entry continues a requeued contact: an entry of the same conversation and service,
    enqueued at the same instant, was picked up before it."""
    entry, first = queue_entries.c, queue_entries.alias("first").c
    return (
        sa.select(first.id)
        .where(
            first.conversation_id == entry.conversation_id,
            first.service_id == entry.service_id,
            first.enqueued_at == entry.enqueued_at,
            first.id != entry.id,
            first.picked_up_at.is_not(None),
            sa.or_(entry.picked_up_at.is_(None), first.picked_up_at < entry.picked_up_at),
        )
        .exists()
    )


def _period_query(conn: Connection, start: datetime, end: datetime) -> sa.Select[Any]:
    entry = queue_entries.c
    waited = seconds_between(conn, entry.picked_up_at, entry.enqueued_at)
    handling = seconds_between(conn, entry.ended_at, entry.picked_up_at)
    arrival = ~_continued()
    answered = sa.and_(arrival, entry.picked_up_at.is_not(None))
    worked = sa.and_(
        entry.picked_up_at.is_not(None), entry.ended_at.is_not(None), entry.status != "in_service"
    )
    handled = sa.and_(arrival, worked)
    abandoned = sa.and_(arrival, entry.status == "abandoned")
    return (
        sa.select(
            entry.service_id,
            sa.func.sum(sa.case((answered, 1), else_=0)).label("answered"),
            sa.func.sum(
                sa.case((sa.and_(answered, waited <= services.c.answer_time_seconds), 1), else_=0)
            ).label("within"),
            sa.func.sum(sa.case((abandoned, 1), else_=0)).label("abandoned"),
            sa.func.sum(sa.case((answered, waited), else_=0)).label("waits"),
            sa.func.sum(sa.case((handled, 1), else_=0)).label("handled"),
            sa.func.sum(sa.case((worked, handling), else_=0)).label("handling"),
        )
        .join(services, services.c.id == entry.service_id)
        .where(entry.enqueued_at >= start, entry.enqueued_at < end)
        .group_by(entry.service_id)
    )


def half_hours(engine: Engine, service_id: str, start: datetime, end: datetime) -> list[HalfHour]:
    """The service's half-hour buckets with any contact enqueued in [start, end), in order."""
    entry = queue_entries.c
    with reads(engine) as conn:
        bucket = _half_hour_index(conn, epoch_seconds(conn, entry.enqueued_at)).label("bucket")
        worked = sa.and_(
            entry.picked_up_at.is_not(None),
            entry.ended_at.is_not(None),
            entry.status != "in_service",
        )
        arrival = ~_continued()
        handled = sa.and_(arrival, worked)
        left_queue = sa.func.coalesce(entry.picked_up_at, entry.ended_at)
        queued = seconds_between(conn, left_queue, entry.enqueued_at)
        rows = conn.execute(
            sa.select(
                bucket,
                sa.func.sum(sa.case((arrival, 1), else_=0)).label("arrivals"),
                sa.func.sum(sa.case((handled, 1), else_=0)).label("handled"),
                sa.func.sum(
                    sa.case(
                        (worked, seconds_between(conn, entry.ended_at, entry.picked_up_at)),
                        else_=0,
                    )  # fmt: skip
                ).label("handling"),
                sa.func.sum(
                    sa.case((sa.and_(arrival, entry.status == "abandoned"), 1), else_=0)
                ).label("abandoned"),
                sa.func.sum(
                    sa.case(
                        (sa.and_(arrival, left_queue.is_not(None)), queued),
                        else_=0,
                    )
                ).label("queued"),
            )
            .where(
                entry.service_id == service_id,
                entry.enqueued_at >= start,
                entry.enqueued_at < end,
            )
            .group_by(bucket)
            .order_by(bucket)
        ).all()
    return [
        HalfHour(
            start=datetime.fromtimestamp(int(row.bucket) * HALF_HOUR, UTC),
            arrivals=int(row.arrivals or 0),
            handled=int(row.handled or 0),
            handle_seconds_total=float(row.handling or 0),
            abandoned=int(row.abandoned or 0),
            queue_seconds_total=float(row.queued or 0),
        )
        for row in rows
    ]


def _half_hour_index(conn: Connection, epoch: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """floor(epoch / 1800): PostgreSQL's floor; SQLite's integer cast truncates, the same for
    times after 1970. A millisecond is added first: SQLite's julianday may land an instant on
    the hour a hair before it."""
    shifted = (epoch + 0.001) / HALF_HOUR
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.floor(shifted), sa.BigInteger)
    return sa.cast(shifted, sa.Integer)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
