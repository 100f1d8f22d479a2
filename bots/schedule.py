"""Business hours and holidays ("Horário de atendimento", "Dias de folga"): pure, no I/O, no clock.

Every function takes the instant it reasons about, so the module is safe inside a Temporal
workflow (call it with ``workflow.now()``). Only ``datetime``, ``zoneinfo`` and pydantic are used.

Rules (see docs/schedule.md):

- A window ``"HH:MM-HH:MM"`` is local wall time, start inclusive, end exclusive; ``"24:00"``
  may end one. An end ``<=`` start crosses midnight (``"22:00-02:00"``). Publishing refuses an end
  equal to the start and overlaps across midnight (bots/validation.py); read here as before.
- A window belongs to the day it starts on: a holiday closes the windows that *start* on it, so
  ``"22:00-02:00"`` on the eve of a holiday still runs until 02:00 of the holiday.
- DST: a local time that does not exist (spring forward) means the first real instant after the
  gap; an ambiguous local time (fall back) means its first occurrence (``fold=0``).
- ``emergency_closed`` closes everything at once, whatever the hours.
- No ``hours``: open all day, every day (but holidays, emergency); ``hours: {}``: never open.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day keys in ``datetime.weekday()`` order."""
SEARCH_DAYS = 366
"""``next_opening`` gives up (returns None) beyond this many days after the instant."""

_MINUTES_PER_DAY = 24 * 60
_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")
_ONE_OFF_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEARLY_RE = re.compile(r"^(\d{2})-(\d{2})$")

MonthDay = tuple[int, int]
_ALL_WEEK = {"mon-sun": ["00:00-24:00"]}  # what no ``hours`` means

ISSUE_CODES: tuple[str, ...] = (
    *("bad_time_window", "overlapping_windows", "unknown_day", "day_twice", "bad_holiday_date"),
    *("holiday_range_reversed", "holiday_range_mixed", "unknown_time_zone"),
)
"""The codes of a schedule's refusals (a pydantic error's `type`, a flow issue's `code`), each
with its values in the error's context: a form says them in its own words (pt-BR), by field."""


def _refused(code: str, message: str, **values: str) -> PydanticCustomError:
    """A ValueError whose `type` is `code` and whose context holds `values` (`{name}` in
    `message` stands for each)."""
    return PydanticCustomError(code, message, values)


# --- parsing (used by the validators and by the compiled form) -------------------------------


def _parse_window(text: str) -> tuple[int, int]:
    """``"22:00-02:00"`` -> (1320, 1560): minutes from the start of the day the window starts on."""
    match = _WINDOW_RE.match(text)
    if match is None:
        raise _refused(
            "bad_time_window", "bad time window '{window}'; expected HH:MM-HH:MM", window=text
        )
    sh, sm, eh, em, h24, _ = match.groups()
    start = int(sh) * 60 + int(sm)
    end = _MINUTES_PER_DAY if h24 else int(eh) * 60 + int(em)
    if end <= start:
        end += _MINUTES_PER_DAY  # crosses midnight into the next day
    return start, end


def _parse_day_key(key: str) -> tuple[int, ...]:
    """``"mon-fri"``, ``"sat,sun"``, ``"sun-thu"`` -> weekday indexes (0 = Monday)."""
    days: list[int] = []
    for raw in key.split(","):
        first, sep, last = raw.strip().partition("-")
        first, last = first.strip(), last.strip()
        for end in [first, last] if sep else [first]:
            if end.lower() not in DAYS:
                where = "" if end else " in '{key}'"
                raise _refused(
                    "unknown_day",
                    f"unknown day '{{day}}'{where}; use mon, tue, wed, thu, fri, sat, sun"
                    " or a range like mon-fri",
                    day=end,
                    key=key,
                )
        a = DAYS.index(first.lower())
        b = DAYS.index(last.lower()) if sep else a
        span = (b - a) % 7  # a range may wrap the week: "sun-thu"
        for i in range(span + 1):
            day = (a + i) % 7
            if day in days:
                raise _refused(
                    "day_twice", "a day given twice: '{day}' (in '{key}')", day=DAYS[day], key=key
                )
            days.append(day)
    return tuple(days)


def _parse_one_date(text: str, whole: str) -> date | MonthDay:
    bad = _refused(
        "bad_holiday_date",
        "bad holiday date '{date}'; use YYYY-MM-DD, MM-DD or a range A..B",
        date=whole,
    )
    if m := _ONE_OFF_RE.match(text):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise bad from None
    if m := _YEARLY_RE.match(text):
        try:
            date(2000, int(m[1]), int(m[2]))  # a leap year, so "02-29" is a valid yearly date
        except ValueError:
            raise bad from None
        return int(m[1]), int(m[2])
    raise bad


def _parse_holiday(text: str) -> tuple[date, date] | tuple[MonthDay, MonthDay]:
    """A one-off or yearly date, or a range ``A..B`` of the same kind (both ends included)."""
    first, sep, last = text.strip().partition("..")
    a = _parse_one_date(first.strip(), text)
    b = _parse_one_date(last.strip(), text) if sep else a
    if isinstance(a, date) and isinstance(b, date):
        if b < a:
            raise _refused(
                "holiday_range_reversed", "holiday range '{date}' ends before it starts", date=text
            )
        return a, b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a, b  # yearly ranges may wrap the new year: "12-31..01-01"
    raise _refused(
        "holiday_range_mixed",
        "bad holiday date '{date}'; both ends of a range must be YYYY-MM-DD or both MM-DD",
        date=text,
    )


def _check_window(text: str) -> str:
    _parse_window(text)
    return text


def _check_day_key(key: str) -> str:
    _parse_day_key(key)
    return key


def _check_no_overlap(windows: list[str]) -> list[str]:
    spans = sorted((_parse_window(w), w) for w in windows)
    for (prev, prev_text), (cur, cur_text) in zip(spans, spans[1:], strict=False):
        if cur[0] < prev[1]:
            raise _refused(
                "overlapping_windows",
                "overlapping windows '{first}' and '{second}'",
                first=prev_text,
                second=cur_text,
            )
    return windows


Window = Annotated[str, AfterValidator(_check_window)]
DayKey = Annotated[str, AfterValidator(_check_day_key)]
DayWindows = Annotated[list[Window], AfterValidator(_check_no_overlap)]


# --- models ---------------------------------------------------------------------------------


class Holiday(BaseModel):
    """A day (or days) off: ``"2026-12-25"``, ``"12-25"`` (yearly) or ``"12-24..12-26"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str
    name: str = ""

    @field_validator("date")
    @classmethod
    def _valid_date(cls, value: str) -> str:
        _parse_holiday(value)
        return value


def _mapping_only(schema: dict[str, Any]) -> None:
    """`hours`' JSON Schema: the mapping alone (not null, no default to write)."""
    mapping = next(option for option in schema.pop("anyOf") if option.get("type") == "object")
    schema.pop("default", None)
    schema.update(mapping)


class Schedule(BaseModel):
    """Weekly hours of human service in a time zone, with holidays and an emergency switch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "America/Sao_Paulo"
    # None (no key): all day, every day; {}: never open; `hours:` with nothing is refused, so
    # the JSON Schema (editors) offers a mapping only, with no default to write
    hours: dict[DayKey, DayWindows] | None = Field(default=None, json_schema_extra=_mapping_only)
    holidays: list[Holiday] = Field(default_factory=list)
    emergency_closed: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _given_hours_are_a_mapping(cls, value: Any) -> Any:
        """`hours:` with nothing under it (every day commented out) is an error, as it always
        was: only a schedule without the key serves at any hour."""
        if value is None:
            raise PydanticCustomError("dict_type", "Input should be a valid dictionary")
        return value

    @model_serializer(mode="wrap")
    def _absent_hours_left_out(self, handler: SerializerFunctionWrapHandler) -> Any:
        """No `hours` is written as no key (a stored flow reads back as it was published)."""
        data = handler(self)
        if self.hours is None and isinstance(data, dict):
            data.pop("hours", None)
        return data

    @field_validator("hours")
    @classmethod
    def _each_day_once(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        seen: dict[int, str] = {}
        for key in value or {}:
            for day in _parse_day_key(key):
                if day in seen:
                    raise _refused(
                        "day_twice",
                        "a day given twice: '{day}' (in '{first}' and '{key}')",
                        day=DAYS[day],
                        first=seen[day],
                        key=key,
                    )
                seen[day] = key
        return value


# --- compiled form (cached: is_open runs inside workflows) -----------------------------------


@dataclass(frozen=True)
class _Compiled:
    zone: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]  # per weekday: sorted (start, end) minutes
    one_off: tuple[tuple[date, date], ...]
    yearly: tuple[tuple[MonthDay, MonthDay], ...]

    def is_holiday(self, day: date) -> bool:
        if any(a <= day <= b for a, b in self.one_off):
            return True
        md = (day.month, day.day)
        return any((a <= md <= b) if a <= b else (md >= a or md <= b) for a, b in self.yearly)


def load_zone(name: str) -> ZoneInfo:
    """``ZoneInfo(name)`` that also works as a tzinfo when this module is imported inside the
    Temporal workflow sandbox; ValueError "unknown time zone 'X'" (`unknown_time_zone`) for a
    bad name."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _refused("unknown_time_zone", "unknown time zone '{zone}'", zone=name) from None
    # The sandbox hands out ZoneInfo instances wrapped in a restricting proxy that datetime
    # rejects as tzinfo; the proxy's bound methods still belong to the real object.
    real = getattr(zone.utcoffset, "__self__", zone)
    return cast(ZoneInfo, real) if isinstance(real, tzinfo) else zone


@lru_cache(maxsize=256)
def _compile(
    timezone: str, hours: tuple[tuple[str, tuple[str, ...]], ...], holidays: tuple[str, ...]
) -> _Compiled:
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for key, windows in hours:
        for day in _parse_day_key(key):
            week[day].extend(_parse_window(w) for w in windows)
    one_off: list[tuple[date, date]] = []
    yearly: list[tuple[MonthDay, MonthDay]] = []
    for text in holidays:
        a, b = _parse_holiday(text)
        if isinstance(a, date) and isinstance(b, date):
            one_off.append((a, b))
        elif isinstance(a, tuple) and isinstance(b, tuple):
            yearly.append((a, b))
    return _Compiled(
        zone=load_zone(timezone),
        week=tuple(tuple(sorted(day)) for day in week),
        one_off=tuple(one_off),
        yearly=tuple(yearly),
    )


def _compiled(schedule: Schedule) -> _Compiled:
    week = _ALL_WEEK if schedule.hours is None else schedule.hours
    hours = tuple((key, tuple(windows)) for key, windows in week.items())
    return _compile(schedule.timezone, hours, tuple(h.date for h in schedule.holidays))


def utc(instant: datetime, name: str = "instant") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def _wall_to_utc(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Local wall time -> UTC; a time in a DST gap becomes the first real instant after it."""
    day += timedelta(days=minute // _MINUTES_PER_DAY)
    minute %= _MINUTES_PER_DAY
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)  # fold=0
    after = wall.astimezone(UTC)
    naive = wall.replace(tzinfo=None)
    if after.astimezone(zone).replace(tzinfo=None) == naive:
        return after
    # In a gap: fold=0 lands after it, fold=1 before it; find the jump to the second.
    before = wall.replace(fold=1).astimezone(UTC)
    lo, hi = 0, int((after - before).total_seconds())
    while lo < hi:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return before + timedelta(seconds=lo)


def _windows_starting(c: _Compiled, day: date) -> Iterator[tuple[datetime, datetime]]:
    """The real (UTC) windows that start on a local day, in order; none on a holiday."""
    if c.is_holiday(day):
        return
    for start, end in c.week[day.weekday()]:
        opens, closes = _wall_to_utc(day, start, c.zone), _wall_to_utc(day, end, c.zone)
        if opens < closes:  # a window lost entirely in a DST gap never opens
            yield opens, closes


# --- public API -----------------------------------------------------------------------------


def never_open(schedule: Schedule) -> bool:
    """Hours given with no window on any day (``hours: {}``, every day ``[]``): always closed."""
    return schedule.hours is not None and not any(schedule.hours.values())


def is_open(schedule: Schedule, instant: datetime) -> bool:
    """Is there human service at ``instant`` (tz-aware)?"""
    t = utc(instant)
    if schedule.emergency_closed:
        return False
    c = _compiled(schedule)
    today = t.astimezone(c.zone).date()
    # Windows last at most a day, so only those starting yesterday or today can cover t.
    for day in (today - timedelta(days=1), today):
        if any(opens <= t < closes for opens, closes in _windows_starting(c, day)):
            return True
    return False


def next_opening(schedule: Schedule, instant: datetime) -> datetime | None:
    """The first instant ``>= instant`` that is open (``instant`` itself when open now).

    Returned in the schedule's time zone; None under emergency closure or when nothing opens
    within ``SEARCH_DAYS`` days. Walks day by day over windows, never minute by minute.
    """
    t = utc(instant)
    if schedule.emergency_closed:
        return None
    c = _compiled(schedule)
    limit = t + timedelta(days=SEARCH_DAYS)
    first = t.astimezone(c.zone).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS + 2):
        # Window starts only grow along this walk, so the first window still running after t
        # holds the answer.
        for opens, closes in _windows_starting(c, first + timedelta(days=offset)):
            if closes > t:
                opening = max(opens, t)
                return opening.astimezone(c.zone) if opening <= limit else None
    return None
