"""Staffing advice from a service's own history (pure): the workload of now and of each half
hour of the next 24 hours, and the agents each needs for the service's target.

The forecast of a half hour is the same local half hour's average over the recent days of
history (arrivals summed and divided by the days observed: from the first day with any contact
in the window through yesterday, so a quiet half hour on a busy day counts as zero). Handle time
and patience come from the same half hours, or from the whole window when that half hour has
none. Now is the last 30 minutes' arrivals with the window's handle time and patience.
Patience (mean seconds a customer waits before abandoning, exponential): every queued second
of everyone who left the queue over the abandonments (the exponential's estimate with answered
customers as censored); no abandonment → Erlang C. docs/staffing.md has a worked example.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from omni.staffing import MAX_AGENTS, Unreachable, Workload, agents_needed

HISTORY_DAYS = 7
SLOT = timedelta(minutes=30)
SLOTS_AHEAD = 48


@dataclass(frozen=True)
class HalfHour:
    """A service's contacts enqueued in one half hour (the store's grouped answer)."""

    start: datetime
    arrivals: int
    handled: int
    handle_seconds_total: float
    abandoned: int
    queue_seconds_total: float
    """Time in queue of everyone who left it (answered or abandoned)."""


@dataclass(frozen=True)
class SlotAdvice:
    start: datetime
    """Local start of the half hour (now: the current instant)."""
    arrivals: float
    """Contacts expected in the half hour (now: in the last 30 minutes)."""
    handle_seconds: float | None
    patience_seconds: float | None
    agents_needed: int | None
    """None when contacts are expected but no handle time was ever measured, or when no
    staffing up to MAX_AGENTS reaches the target (then `unreachable_above` says so)."""
    unreachable_above: int | None = None
    """MAX_AGENTS when even that many agents miss the target (the screen: "acima de N")."""


@dataclass(frozen=True)
class Target:
    service_level_percent: int
    answer_time_seconds: int


def history_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The first instant of history the forecast reads: local midnight HISTORY_DAYS ago."""
    today = now.astimezone(zone).date()
    return datetime.combine(today - timedelta(days=HISTORY_DAYS), time(), zone)


def advise_now(
    recent_arrivals: int, history: list[HalfHour], now: datetime, target: Target
) -> SlotAdvice:
    """The last 30 minutes' arrival rate with the window's handle time and patience."""
    return _advice(now, float(recent_arrivals), history, [], target)


def advise_ahead(
    history: list[HalfHour], now: datetime, zone: ZoneInfo, target: Target
) -> list[SlotAdvice]:
    """Each half hour from the current one to 24 hours ahead, forecast from the same local
    half hour of the days of history before today."""
    local_now = now.astimezone(zone)
    today = local_now.date()
    before = [bucket for bucket in history if _local(bucket.start, zone).date() < today]
    days = _days_observed(before, zone, today)
    by_clock: dict[time, list[HalfHour]] = {}
    for bucket in before:
        by_clock.setdefault(_local(bucket.start, zone).time(), []).append(bucket)
    first = local_now.replace(minute=local_now.minute - local_now.minute % 30, second=0,
                              microsecond=0)  # fmt: skip
    advice = []
    for step in range(SLOTS_AHEAD):
        start = (first.astimezone(ZoneInfo("UTC")) + step * SLOT).astimezone(zone)
        same = by_clock.get(start.time().replace(tzinfo=None), [])
        arrivals = sum(bucket.arrivals for bucket in same) / days if days else 0.0
        advice.append(_advice(start, arrivals, before, same, target))
    return advice


def _advice(
    start: datetime,
    arrivals: float,
    window: list[HalfHour],
    same: list[HalfHour],
    target: Target,
) -> SlotAdvice:
    handle = _mean_handle(same) or _mean_handle(window)
    patience = _mean_patience(same) or _mean_patience(window)
    needed: int | None = 0
    above = None
    if arrivals > 0:
        needed = None
        if handle is not None:
            work = Workload(arrivals / SLOT.total_seconds(), handle, patience)
            try:
                needed = agents_needed(
                    work, target.service_level_percent, target.answer_time_seconds
                )
            except Unreachable:
                above = MAX_AGENTS
    return SlotAdvice(
        start=start,
        arrivals=round(arrivals, 2),
        handle_seconds=round(handle, 1) if handle is not None else None,
        patience_seconds=round(patience, 1) if patience is not None else None,
        agents_needed=needed,
        unreachable_above=above,
    )


def _mean_handle(buckets: Iterable[HalfHour]) -> float | None:
    buckets = list(buckets)
    handled = sum(bucket.handled for bucket in buckets)
    total = sum(bucket.handle_seconds_total for bucket in buckets)
    return total / handled if handled and total > 0 else None


def _mean_patience(buckets: Iterable[HalfHour]) -> float | None:
    buckets = list(buckets)
    abandoned = sum(bucket.abandoned for bucket in buckets)
    exposure = sum(bucket.queue_seconds_total for bucket in buckets)
    return exposure / abandoned if abandoned and exposure > 0 else None


def _days_observed(history: list[HalfHour], zone: ZoneInfo, today: date) -> int:
    if not history:
        return 0
    first = min(_local(bucket.start, zone).date() for bucket in history)
    return (today - first).days


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)
