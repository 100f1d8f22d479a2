"""The supervisor's figures: every service live, in a period, and its staffing advice.

Live figures are the open entries' grouped queries (`store/queue_figures.py`: no history); the
period and the half-hour history are `store/service_history.py`; the advice is
`omni/staffing_forecast`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import status
from sqlalchemy import Engine

from api.errors import ApiError, ErrorCode
from api.models.supervisor import (
    PeriodReport,
    ServiceLive,
    ServicePeriod,
    ServiceStaffing,
    StaffingReport,
    StaffingSlot,
)
from omni.staffing_forecast import (
    HISTORY_DAYS,
    SLOT,
    SlotAdvice,
    Target,
    advise_ahead,
    advise_now,
    history_start,
)
from store import care, labels, queue_figures, service_history
from store import services as service_store

BASE_STATES = ("available", "paused", "offline")


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone by name; 400 `bad_request` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST, f"unknown time zone {name!r}", ErrorCode.BAD_REQUEST
        ) from error


def live(engine: Engine, now: datetime, scope: Collection[str] | None = None) -> list[ServiceLive]:
    """Every service now (of `scope`, service ids, when given: a supervisor's): queue, oldest
    wait, agents by status, open offers."""
    states = queue_figures.agents_by_state(engine)
    offers = queue_figures.open_offers_by_service(engine)
    found = []
    for figures in queue_figures.open_queues(engine):
        if scope is not None and figures.service_id not in scope:
            continue
        agents = {state: 0 for state in BASE_STATES} | states.get(figures.service_id, {})
        oldest = figures.oldest_waiting_since
        found.append(
            ServiceLive(
                service_id=figures.service_id,
                service=figures.service,
                waiting=figures.waiting,
                oldest_wait_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else None,
                in_service=figures.in_service,
                agents=agents,
                online=sum(count for state, count in agents.items() if state != "offline"),
                offers_pending=offers.get(figures.service_id, 0),
            )
        )
    return found


def period(
    engine: Engine,
    start: str | None,
    end: str | None,
    zone: ZoneInfo,
    now: datetime,
    scope: Collection[str] | None = None,
) -> PeriodReport:
    """Figures of the contacts enqueued in [start, end); both default to today (local). Of the
    services in `scope` (ids) when given."""
    today = now.astimezone(zone).date()
    begins = _instant(start, zone, "from") if start else _midnight(today, zone)
    ends = _instant(end, zone, "to", day_end=True) if end else _midnight(today + timedelta(1), zone)
    if ends <= begins:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST, "'to' must be after 'from'", ErrorCode.BAD_REQUEST
        )
    csat = care.csat_averages(engine, begins, ends)
    labelled = labels.counts_by_service(engine, begins, ends)
    services = [
        ServicePeriod(
            service_id=row.service_id,
            service=row.service,
            offered=row.offered,
            answered=row.answered,
            answered_within_target=row.answered_within_target,
            abandoned=row.abandoned,
            service_level_percent=row.service_level_percent,
            target_service_level_percent=row.target_service_level_percent,
            answer_time_seconds=row.answer_time_seconds,
            average_speed_of_answer_seconds=row.average_speed_of_answer_seconds,
            abandonment_percent=row.abandonment_percent,
            average_handle_seconds=row.average_handle_seconds,
            csat_average=csat.get(row.service_id),
            wrapup_codes=labelled.get(row.service, {}).get("wrapup", {}),
            tags=labelled.get(row.service, {}).get("tag", {}),
        )
        for row in service_history.period_figures(engine, begins, ends)
        if scope is None or row.service_id in scope
    ]
    return PeriodReport(start=begins, end=ends, timezone=str(zone), services=services)


def staffing(
    engine: Engine, zone: ZoneInfo, now: datetime, scope: Collection[str] | None = None
) -> StaffingReport:
    """Each service (of `scope`, ids, when given): the agents its target needs now and in each
    half hour of the next day."""
    states = queue_figures.agents_by_state(engine)
    since = history_start(now, zone)
    found = []
    for service in sorted(service_store.list_services(engine), key=lambda one: one.name):
        if scope is not None and service.id not in scope:
            continue
        target = Target(service.service_level_percent, service.answer_time_seconds)
        history = service_history.half_hours(engine, service.id, since, now)
        recent = service_history.half_hours(engine, service.id, now - SLOT, now)
        agents = states.get(service.id, {})
        found.append(
            ServiceStaffing(
                service_id=service.id,
                service=service.name,
                target_service_level_percent=target.service_level_percent,
                answer_time_seconds=target.answer_time_seconds,
                online=sum(count for state, count in agents.items() if state != "offline"),
                available=agents.get("available", 0),
                now=_slot(advise_now(sum(b.arrivals for b in recent), history, now, target)),
                half_hours=[_slot(advice) for advice in advise_ahead(history, now, zone, target)],
            )
        )
    return StaffingReport(timezone=str(zone), history_days=HISTORY_DAYS, services=found)


def _slot(advice: SlotAdvice) -> StaffingSlot:
    return StaffingSlot(
        start=advice.start,
        arrivals=advice.arrivals,
        handle_seconds=advice.handle_seconds,
        patience_seconds=advice.patience_seconds,
        model="erlang_c" if advice.patience_seconds is None else "erlang_a",
        agents_needed=advice.agents_needed,
        unreachable_above=advice.unreachable_above,
    )


def _instant(text: str, zone: ZoneInfo, name: str, *, day_end: bool = False) -> datetime:
    """A date (local midnight; for `to`, the end of that day) or a date-time (naive: local)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _midnight(day + timedelta(1) if day_end else day, zone)
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:  # OverflowError: the calendar's first/last day
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            f"'{name}' must be a date (YYYY-MM-DD) or an ISO 8601 date-time within years 2-9998",
            ErrorCode.BAD_REQUEST,
        ) from error


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)
