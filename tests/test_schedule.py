"""bots.schedule: hours, holidays, DST, next opening, pt-BR texts, validation, properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ValidationError
from temporalio import workflow

# bots.schedule is imported afresh inside the workflow sandbox (the point of the sandbox test);
# the test machinery is passed through.
from bots.errors import FlowIssue
from bots.loader import flow_issues
from bots.opening_words import describe_opening
from bots.schedule import (
    DAYS,
    Holiday,
    Schedule,
    is_open,
    load_zone,
    next_opening,
)

with workflow.unsafe.imports_passed_through():
    import pytest
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from tests.conftest import pydantic_client

SP = load_zone("America/Sao_Paulo")
NY = load_zone("America/New_York")
LISBON = load_zone("Europe/Lisbon")

# 2026-01-05 is a Monday.
LOJA = Schedule(
    hours={"mon-fri": ["08:00-12:00", "13:00-18:00"], "sat": ["09:00-13:00"]},
)


def sp(day: int, hh: int, mm: int = 0, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hh, mm, tzinfo=SP)


def same_instant(a: datetime | None, b: datetime | None) -> bool:
    """Compare in UTC: Python's == is False across zones for ambiguous (fold) local times."""
    if a is None or b is None:
        return a is b
    return a.astimezone(UTC) == b.astimezone(UTC)


# --- is_open tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (sp(5, 7, 59), False),  # Monday, before opening
        (sp(5, 8, 0), True),  # start inclusive
        (sp(5, 10, 0), True),
        (sp(5, 12, 0), False),  # lunch break
        (sp(5, 12, 30), False),
        (sp(5, 13, 0), True),
        (sp(5, 17, 59), True),
        (sp(5, 18, 0), False),  # end exclusive
        (sp(9, 17, 0), True),  # Friday
        (sp(10, 9, 0), True),  # Saturday
        (sp(10, 12, 59), True),
        (sp(10, 13, 0), False),
        (sp(11, 10, 0), False),  # Sunday: closed
        (datetime(2026, 1, 5, 13, 30, tzinfo=UTC), True),  # 10:30 in São Paulo
        (datetime(2026, 1, 5, 21, 30, tzinfo=UTC), False),  # 18:30 in São Paulo
    ],
)
def test_sao_paulo_weekday_hours(instant: datetime, expected: bool) -> None:
    assert is_open(LOJA, instant) is expected


NIGHT = Schedule(hours={"fri": ["22:00-02:00"], "sat": ["10:00-24:00"]})


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (sp(9, 21, 59), False),
        (sp(9, 22, 0), True),  # Friday night
        (sp(10, 0, 0), True),  # ...past midnight into Saturday
        (sp(10, 1, 59), True),
        (sp(10, 2, 0), False),
        (sp(10, 23, 59), True),  # "24:00" as an end
        (sp(11, 0, 0), False),
        (sp(8, 23, 0), False),  # Thursday night has no window
    ],
)
def test_window_crossing_midnight(instant: datetime, expected: bool) -> None:
    assert is_open(NIGHT, instant) is expected


def test_window_with_equal_ends_lasts_a_whole_day() -> None:
    """As a version published before publishing refused it reads (and its histories)."""
    s = Schedule(hours={"mon": ["08:00-08:00"]})
    assert is_open(s, sp(5, 8, 0))
    assert is_open(s, sp(6, 7, 59))
    assert not is_open(s, sp(6, 8, 0))


HOLIDAYS = Schedule(
    hours={"mon-sun": ["08:00-18:00"]},
    holidays=[
        Holiday(date="2026-04-03", name="Sexta-feira Santa"),
        Holiday(date="05-01", name="Dia do Trabalho"),
        Holiday(date="2026-02-16..2026-02-18", name="Carnaval"),
        Holiday(date="12-31..01-01", name="Réveillon"),
        Holiday(date="07-10..07-11"),
    ],
)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (sp(3, 10, month=4), False),  # one-off
        (sp(3, 10, month=4, year=2027), True),  # ...only that year
        (sp(2, 10, month=4), True),
        (sp(1, 10, month=5), False),  # yearly MM-DD
        (sp(1, 10, month=5, year=2031), False),
        (sp(2, 10, month=5), True),
        (sp(15, 10, month=2), True),  # range
        (sp(16, 10, month=2), False),
        (sp(17, 10, month=2), False),
        (sp(18, 10, month=2), False),
        (sp(19, 10, month=2), True),
        (sp(30, 10, month=12), True),  # yearly range across the new year
        (sp(31, 10, month=12), False),
        (sp(1, 10, month=1, year=2027), False),
        (sp(2, 10, month=1, year=2027), True),
        (sp(11, 17, month=7, year=2030), False),  # yearly range, both ends included
        (sp(12, 8, month=7, year=2030), True),
    ],
)
def test_holidays(instant: datetime, expected: bool) -> None:
    assert is_open(HOLIDAYS, instant) is expected


def test_holiday_closes_windows_starting_on_it_not_the_eve_running_into_it() -> None:
    s = Schedule(hours={"mon-sun": ["22:00-02:00"]}, holidays=[Holiday(date="12-25")])
    assert is_open(s, sp(25, 1, 30, month=12))  # the eve's window runs into Christmas
    assert not is_open(s, sp(25, 22, 30, month=12))  # Christmas' own window is closed
    assert not is_open(s, sp(26, 1, 0, month=12))  # ...including its part after midnight
    assert same_instant(next_opening(s, sp(25, 2, 0, month=12)), sp(26, 22, 0, month=12))


def test_emergency_closed_closes_everything() -> None:
    s = LOJA.model_copy(update={"emergency_closed": True})
    assert not is_open(s, sp(5, 10))
    assert next_opening(s, sp(5, 10)) is None


def test_empty_hours_never_open() -> None:
    s = Schedule(hours={})
    assert not is_open(s, sp(5, 10))
    assert next_opening(s, sp(5, 10)) is None


def test_yearly_february_29_only_in_leap_years() -> None:
    s = Schedule(hours={"mon-sun": ["00:00-24:00"]}, holidays=[Holiday(date="02-29")])
    assert not is_open(s, sp(29, 12, month=2, year=2028))
    assert is_open(s, sp(28, 12, month=2, year=2027))
    assert is_open(s, sp(1, 12, month=3, year=2027))


# --- DST --------------------------------------------------------------------------------------


def test_dst_spring_forward_window_opens_on_time_when_start_exists() -> None:
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    s = Schedule(timezone="America/New_York", hours={"sun": ["01:30-03:00"]})
    assert is_open(s, datetime(2026, 3, 8, 1, 30, tzinfo=NY))
    assert is_open(s, datetime(2026, 3, 8, 6, 59, tzinfo=UTC))  # 01:59 EST
    assert not is_open(s, datetime(2026, 3, 8, 7, 0, tzinfo=UTC))  # 03:00 EDT
    assert not is_open(s, datetime(2026, 3, 8, 6, 29, tzinfo=UTC))  # 01:29 EST


def test_dst_nonexistent_start_opens_at_end_of_gap() -> None:
    s = Schedule(timezone="America/New_York", hours={"sun": ["02:30-04:00"]})
    opening = next_opening(s, datetime(2026, 3, 8, 0, 0, tzinfo=NY))
    assert same_instant(opening, datetime(2026, 3, 8, 7, 0, tzinfo=UTC))  # 03:00 EDT
    assert opening is not None and opening.strftime("%H:%M %Z") == "03:00 EDT"
    assert not is_open(s, datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC))
    # A week later the window opens at 02:30 as written.
    later = next_opening(s, datetime(2026, 3, 9, tzinfo=NY))
    assert later is not None and later.strftime("%d %H:%M") == "15 02:30"


def test_dst_window_entirely_in_gap_never_opens_that_day() -> None:
    s = Schedule(timezone="Europe/Lisbon", hours={"sun": ["01:15-01:45"]})
    # Lisbon, 2026-03-29: 01:00 WET jumps to 02:00 WEST.
    opening = next_opening(s, datetime(2026, 3, 29, 0, 0, tzinfo=LISBON))
    assert opening is not None and opening.date() == date(2026, 4, 5)


def test_dst_fall_back_ambiguous_times_use_first_occurrence() -> None:
    # New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
    s = Schedule(timezone="America/New_York", hours={"sun": ["01:30-03:00"]})
    assert is_open(s, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # first 01:30 (EDT)
    assert is_open(s, datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # second 01:30 (EST)
    assert is_open(s, datetime(2026, 11, 1, 7, 59, tzinfo=UTC))  # 02:59 EST
    assert not is_open(s, datetime(2026, 11, 1, 8, 0, tzinfo=UTC))  # 03:00 EST
    assert not is_open(s, datetime(2026, 11, 1, 5, 29, tzinfo=UTC))
    s = Schedule(timezone="America/New_York", hours={"sun": ["00:00-01:30"]})
    assert is_open(s, datetime(2026, 11, 1, 5, 29, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # closes at first 01:30


def test_dst_lisbon_fall_back() -> None:
    # Lisbon, 2026-10-25: 02:00 WEST falls back to 01:00 WET.
    s = Schedule(timezone="Europe/Lisbon", hours={"sun": ["01:00-02:00"]})
    assert not is_open(s, datetime(2026, 10, 24, 23, 59, tzinfo=UTC))
    assert is_open(s, datetime(2026, 10, 25, 0, 0, tzinfo=UTC))  # 01:00 WEST
    assert is_open(s, datetime(2026, 10, 25, 1, 59, tzinfo=UTC))  # 01:59 WET: 2 real hours
    assert not is_open(s, datetime(2026, 10, 25, 2, 0, tzinfo=UTC))  # 02:00 WET
    s = Schedule(timezone="Europe/Lisbon", hours={"sun": ["00:00-01:30"]})
    assert is_open(s, datetime(2026, 10, 25, 0, 29, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 10, 25, 1, 0, tzinfo=UTC))  # 01:00 WET (2nd time)


def test_sao_paulo_has_no_dst_any_more() -> None:
    s = Schedule(hours={"sun": ["00:00-01:00"]})
    assert is_open(s, datetime(2026, 11, 1, 3, 0, tzinfo=UTC))  # 00:00 -03:00


# --- next_opening -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (sp(5, 10), sp(5, 10)),  # open now: the instant itself
        (sp(5, 7), sp(5, 8)),
        (sp(5, 12, 30), sp(5, 13)),
        (sp(5, 18), sp(6, 8)),
        (sp(9, 18), sp(10, 9)),  # Friday evening -> Saturday
        (sp(10, 13), sp(12, 8)),  # Saturday afternoon -> Monday
        (sp(11, 10), sp(12, 8)),  # Sunday
    ],
)
def test_next_opening(instant: datetime, expected: datetime) -> None:
    opening = next_opening(LOJA, instant)
    assert opening == expected
    assert opening is not None and opening.tzinfo == SP


def test_next_opening_is_in_schedule_zone_and_keeps_seconds_when_open() -> None:
    t = datetime(2026, 1, 5, 13, 30, 15, 123, tzinfo=UTC)
    opening = next_opening(LOJA, t)
    assert opening == t and opening is not None and opening.tzinfo == SP


def test_next_opening_skips_holidays_and_gives_up_after_a_year() -> None:
    assert next_opening(HOLIDAYS, sp(31, 9, month=12)) == sp(2, 8, year=2027)
    always_off = Schedule(
        hours={"mon-sun": ["08:00-18:00"]}, holidays=[Holiday(date="01-01..12-31")]
    )
    assert next_opening(always_off, sp(5, 10)) is None
    long_break = Schedule(
        hours={"mon-sun": ["08:00-18:00"]}, holidays=[Holiday(date="2026-01-01..2026-10-31")]
    )
    assert next_opening(long_break, sp(5, 10)) == sp(1, 8, month=11)
    too_long = Schedule(
        hours={"mon-sun": ["08:00-18:00"]}, holidays=[Holiday(date="2026-01-01..2027-06-30")]
    )
    assert next_opening(too_long, sp(5, 10)) is None


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2026, 1, 5, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(LOJA, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_opening(LOJA, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        describe_opening(LOJA, naive, sp(5, 10))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        describe_opening(LOJA, sp(5, 10), naive)


# --- describe_opening -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "now", "text"),
    [
        (sp(5, 13), sp(5, 12, 30), "hoje às 13:00"),
        (sp(6, 8), sp(5, 18), "amanhã às 08:00"),
        (sp(6, 8), sp(5, 23, 59), "amanhã às 08:00"),
        (sp(12, 8), sp(10, 13), "segunda-feira às 08:00"),  # Saturday -> Monday
        (sp(10, 9), sp(5, 18), "sábado às 09:00"),
        (sp(11, 9), sp(5, 18), "domingo às 09:00"),  # 6 days ahead
        (sp(12, 8), sp(5, 18), "segunda-feira, 12/01 às 08:00"),  # a week ahead: the date
        (sp(4, 8, year=2027), sp(28, 18, month=12), "segunda-feira, 04/01 às 08:00"),
        (sp(2, 8), sp(5, 18), "sexta-feira, 02/01/2026 às 08:00"),  # in the past: with year
        # Time zones: the schedule's zone decides what "hoje" is.
        (datetime(2026, 1, 6, 2, 0, tzinfo=UTC), sp(5, 20), "hoje às 23:00"),
        (sp(6, 8), datetime(2026, 1, 6, 1, 0, tzinfo=UTC), "amanhã às 08:00"),
    ],
)
def test_describe_opening(opening: datetime, now: datetime, text: str) -> None:
    assert describe_opening(LOJA, opening, now) == text


def test_describe_next_opening_end_to_end() -> None:
    now = sp(9, 18, 30)  # Friday evening
    opening = next_opening(LOJA, now)
    assert opening is not None
    assert describe_opening(LOJA, opening, now) == "amanhã às 09:00"


# --- validation -------------------------------------------------------------------------------


def _error(build: object) -> tuple[tuple[int | str, ...], str]:
    assert callable(build)
    with pytest.raises(ValidationError) as info:
        build()
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


@pytest.mark.parametrize(
    ("kwargs", "loc", "message"),
    [
        (
            {"hours": {"mon": ["8:00-12"]}},
            ("hours", "mon", 0),
            "bad time window '8:00-12'; expected HH:MM-HH:MM",
        ),
        ({"hours": {"mon": ["08:00-12:60"]}}, ("hours", "mon", 0), "bad time window"),
        ({"hours": {"mon": ["24:00-02:00"]}}, ("hours", "mon", 0), "bad time window"),
        ({"hours": {"mon": ["08:00-24:01"]}}, ("hours", "mon", 0), "bad time window"),
        ({"hours": {"mon": ["08:00 - 12:00"]}}, ("hours", "mon", 0), "bad time window"),
        (
            {"hours": {"mon": ["08:00-12:00", "11:00-13:00"]}},
            ("hours", "mon"),
            "overlapping windows '08:00-12:00' and '11:00-13:00'",
        ),
        (
            {"hours": {"mon": ["13:00-18:00", "08:00-12:00", "17:00-02:00"]}},
            ("hours", "mon"),
            "overlapping windows '13:00-18:00' and '17:00-02:00'",
        ),
        (
            {"hours": {"mon": ["08:00-12:00", "08:00-12:00"]}},
            ("hours", "mon"),
            "overlapping windows",
        ),
        (
            {"hours": {"seg": ["08:00-12:00"]}},
            ("hours", "seg", "[key]"),
            "unknown day 'seg'; use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri",
        ),
        ({"hours": {"mon-sex": []}}, ("hours", "mon-sex", "[key]"), "unknown day 'sex'"),
        ({"hours": {"mon,": []}}, ("hours", "mon,", "[key]"), "unknown day '' in 'mon,'"),
        (
            {"hours": {"mon-fri": ["08:00-12:00"], "mon": ["13:00-14:00"]}},
            ("hours",),
            "a day given twice: 'mon' (in 'mon-fri' and 'mon')",
        ),
        (
            {"hours": {"mon,mon-wed": []}},
            ("hours", "mon,mon-wed", "[key]"),
            "a day given twice: 'mon' (in 'mon,mon-wed')",
        ),
        (
            {"timezone": "America/Sao_Pualo", "hours": {}},
            ("timezone",),
            "unknown time zone 'America/Sao_Pualo'",
        ),
        ({"timezone": "../etc/passwd", "hours": {}}, ("timezone",), "unknown time zone"),
        (
            {"hours": {}, "holidays": [{"date": "2026-02-30"}]},
            ("holidays", 0, "date"),
            "bad holiday date '2026-02-30'",
        ),
        ({"hours": {}, "holidays": [{"date": "13-01"}]}, ("holidays", 0, "date"), "bad holiday"),
        ({"hours": {}, "holidays": [{"date": "25/12"}]}, ("holidays", 0, "date"), "bad holiday"),
        (
            {"hours": {}, "holidays": [{"date": "01-01"}, {"date": "2026-12-24..12-26"}]},
            ("holidays", 1, "date"),
            "both ends of a range must be YYYY-MM-DD or both MM-DD",
        ),
        (
            {"hours": {}, "holidays": [{"date": "2026-12-26..2026-12-24"}]},
            ("holidays", 0, "date"),
            "holiday range '2026-12-26..2026-12-24' ends before it starts",
        ),
        ({"hours": {}, "holidays": [{"date": "12-24.."}]}, ("holidays", 0, "date"), "bad holiday"),
        ({"hours": {}, "emergency": True}, ("emergency",), "Extra inputs are not permitted"),
    ],
)
def test_validation_errors(
    kwargs: dict[str, object], loc: tuple[object, ...], message: str
) -> None:
    got_loc, got_msg = _error(lambda: Schedule.model_validate(kwargs))
    assert got_loc == loc
    assert message in got_msg


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown day 'seg'"):
        Schedule(hours={"seg": ["08:00-12:00"]})


@pytest.mark.parametrize(
    "hours",
    [
        {"mon-fri": ["08:00-12:00", "12:00-18:00"]},  # adjacent, not overlapping
        {"sat,sun": ["00:00-24:00"]},
        {"sun-thu": ["22:00-06:00"], "fri": ["00:00-03:00", "22:00-23:00"]},  # wraps the week
        {"mon-mon": ["00:00-00:00"]},
        {"Mon-Fri": ["08:00-18:00"], " sat ": []},
    ],
)
def test_valid_hours(hours: dict[str, list[str]]) -> None:
    """The model's rules; the last three publishing refuses (below), stored versions keep."""
    Schedule(hours=hours)


# --- what publishing refuses besides the model (bots/validation.py) ---------------------------


def _published(hours: str) -> list[FlowIssue]:
    """The issues of a flow whose `schedule.hours` is `hours` (its first day on line 4)."""
    source = f"bot: loja\nschedule:\n  hours:\n{hours}start: fim\nblocks:\n  fim: {{type: end}}\n"
    return flow_issues(source, "bot.yaml", env={})


@pytest.mark.parametrize(
    ("hours", "where", "window"),
    [
        ('    tue: ["23:00-23:00"]\n', (4, 11), "23:00-23:00"),
        ('    mon-fri: ["00:00-00:00"]\n', (4, 15), "00:00-00:00"),
        ('    sat: ["09:00-13:00"]\n    sun: ["08:00-08:00"]\n', (5, 11), "08:00-08:00"),
    ],
)
def test_a_window_that_ends_where_it_starts_is_refused(
    hours: str, where: tuple[int, int], window: str
) -> None:
    [issue] = _published(hours)
    assert ((issue.line, issue.column), issue.code) == (where, "bad_time_window")
    assert f"the window '{window}' ends where it starts" in issue.message
    assert "a whole day is '00:00-24:00'" in issue.message
    assert dict(issue.ctx)["window"] == window
    assert dict(issue.ctx)["loc"].startswith("schedule.hours.")


@pytest.mark.parametrize(
    ("hours", "where", "loc", "first", "second"),
    [
        (
            '    mon: ["22:00-02:00"]\n    tue: ["01:00-03:00"]\n',
            (5, 11),
            "schedule.hours.tue[0]",
            "mon 22:00-02:00",
            "tue 01:00-03:00",
        ),
        (  # the week wraps: sunday's night runs into monday
            '    mon: ["00:30-06:00"]\n    sun: ["23:00-01:00"]\n',
            (4, 11),
            "schedule.hours.mon[0]",
            "sun 23:00-01:00",
            "mon 00:30-06:00",
        ),
        (  # one key, said once (not for each of its days)
            '    mon-sun: ["22:00-02:00", "01:00-03:00"]\n',
            (4, 30),
            "schedule.hours.mon-sun[1]",
            "mon 22:00-02:00",
            "tue 01:00-03:00",
        ),
        (
            '    sun-thu: ["22:00-06:00"]\n    fri: ["00:00-03:00", "22:00-23:00"]\n',
            (5, 11),
            "schedule.hours.fri[0]",
            "thu 22:00-06:00",
            "fri 00:00-03:00",
        ),
    ],
)
def test_windows_overlapping_across_midnight_are_refused(
    hours: str, where: tuple[int, int], loc: str, first: str, second: str
) -> None:
    [issue] = _published(hours)
    assert ((issue.line, issue.column), issue.code) == (where, "overlapping_windows")
    assert issue.message == (
        f"{loc}: overlapping windows '{first}' and '{second}' (the first runs past midnight)"
    )
    ctx = dict(issue.ctx)
    assert ctx["loc"] == loc
    assert (ctx["first_day"], ctx["first"]) == tuple(first.split())
    assert (ctx["second_day"], ctx["second"]) == tuple(second.split())


@pytest.mark.parametrize(
    "hours",
    [
        '    mon: ["22:00-02:00"]\n    tue: ["02:00-03:00"]\n',  # adjacent
        '    sun: ["22:00-24:00"]\n    mon: ["00:00-08:00"]\n',  # a night in two windows
        '    mon-sun: ["00:00-24:00"]\n',
        '    fri: ["22:00-02:00"]\n    sun: ["01:00-03:00"]\n',  # not the next day
    ],
)
def test_windows_that_only_touch_across_midnight_are_published(hours: str) -> None:
    assert _published(hours) == []


def test_week_wrapping_range() -> None:
    s = Schedule(hours={"sun-tue": ["08:00-18:00"]})
    open_days = {
        d.weekday()
        for d in (date(2026, 1, 4) + timedelta(days=i) for i in range(7))
        if is_open(s, datetime.combine(d, time(9), tzinfo=SP))
    }
    assert open_days == {6, 0, 1}


def test_frozen() -> None:
    with pytest.raises(ValidationError):
        LOJA.emergency_closed = True  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/Lisbon",
    "Australia/Lord_Howe",
]  # the last one moves its clock by 30 minutes
FIXED_ZONES = ["UTC", "America/Sao_Paulo", "Asia/Kolkata"]  # no DST in the sampled years
QUARTER = 15


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_windows(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Non-overlapping windows on the quarter-hour grid; the last may cross midnight."""
    points = draw(
        st.lists(st.integers(0, 2 * 24 * 4 - 1), min_size=0, max_size=6, unique=True).map(sorted)
    )
    windows = []
    for start, end in zip(points[::2], points[1::2], strict=False):
        start, end = start * QUARTER, end * QUARTER
        if start < 24 * 60 and end - start <= 24 * 60:
            windows.append((start, end))
    return windows


def _window_text(start: int, end: int) -> str:
    end_text = "24:00" if end == 24 * 60 else _hhmm(end % (24 * 60))
    return f"{_hhmm(start)}-{end_text}"


@st.composite
def schedules(draw: st.DrawFn, zones: list[str] = ZONES) -> tuple[Schedule, dict]:
    """A valid schedule and the plain facts a reference implementation needs."""
    week = [draw(day_windows()) for _ in DAYS]
    hours: dict[str, list[str]] = {}
    day = 0
    while day < 7:  # group equal consecutive days into ranges, as designers write them
        last = day
        while last + 1 < 7 and week[last + 1] == week[day] and draw(st.booleans()):
            last += 1
        key = DAYS[day] if last == day else f"{DAYS[day]}-{DAYS[last]}"
        if week[day] or draw(st.booleans()):
            hours[key] = [_window_text(s, e) for s, e in week[day]]
        else:
            for d in range(day, last + 1):
                week[d] = []
        day = last + 1
    one_off_starts = draw(st.lists(st.dates(date(2025, 12, 1), date(2027, 12, 31)), max_size=4))
    lengths = draw(
        st.lists(st.integers(0, 10), min_size=len(one_off_starts), max_size=len(one_off_starts))
    )
    yearly = draw(
        st.lists(
            st.tuples(st.dates(date(2000, 1, 1), date(2000, 12, 31)), st.integers(0, 5)), max_size=3
        )
    )
    holidays, off_dates, off_month_days = [], set(), set()
    for start, length in zip(one_off_starts, lengths, strict=True):
        end = start + timedelta(days=length)
        text = start.isoformat() if length == 0 else f"{start.isoformat()}..{end.isoformat()}"
        holidays.append(Holiday(date=text))
        off_dates |= {start + timedelta(days=i) for i in range(length + 1)}
    for start, length in yearly:
        covered = [(start + timedelta(days=i)) for i in range(length + 1)]
        end = covered[-1] if covered[-1].year == 2000 else covered[-1].replace(year=2000)
        text = f"{start:%m-%d}" if length == 0 else f"{start:%m-%d}..{end:%m-%d}"
        holidays.append(Holiday(date=text))
        off_month_days |= {(d.month, d.day) for d in covered}
    schedule = Schedule(
        timezone=draw(st.sampled_from(zones)),
        hours=hours,
        holidays=holidays,
        emergency_closed=draw(st.integers(0, 19)) == 0,
    )
    facts = {"week": week, "off_dates": off_dates, "off_month_days": off_month_days}
    return schedule, facts


DST_CHANGES = [  # New York, Lisbon and Lord Howe change their clocks on these days
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 4, 4, tzinfo=UTC),
    datetime(2026, 10, 3, tzinfo=UTC),
]
instants = st.one_of(
    st.datetimes(datetime(2025, 12, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda change, seconds: change + timedelta(seconds=seconds),
        st.sampled_from(DST_CHANGES),
        st.integers(-3 * 86400, 2 * 86400),
    ),
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reference_is_open(schedule: Schedule, facts: dict, t: datetime) -> bool:
    """Straight from the rules, valid for zones without DST: minutes since a day's midnight."""
    if schedule.emergency_closed:
        return False
    local = t.astimezone(load_zone(schedule.timezone)).replace(tzinfo=None)
    for back in (0, 1):
        day = local.date() - timedelta(days=back)
        if day in facts["off_dates"] or (day.month, day.day) in facts["off_month_days"]:
            continue
        minutes = (local - datetime.combine(day, time())) / timedelta(minutes=1)
        if any(s <= minutes < e for s, e in facts["week"][day.weekday()]):
            return True
    return False


@PROPERTY
@given(schedules(FIXED_ZONES), instants)
def test_is_open_matches_reference(case: tuple[Schedule, dict], t: datetime) -> None:
    schedule, facts = case
    assert is_open(schedule, t) is _reference_is_open(schedule, facts, t)


def _grid_after(t: datetime) -> datetime:
    """The first UTC quarter-hour >= t."""
    floor = t.replace(minute=t.minute - t.minute % QUARTER, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(minutes=QUARTER)


@PROPERTY
@given(schedules(), instants)
def test_next_opening_is_the_first_open_instant(case: tuple[Schedule, dict], t: datetime) -> None:
    schedule, facts = case
    opening = next_opening(schedule, t)
    # Window ends on the local quarter-hour grid and zone offsets in whole quarter-hours put
    # every opening and closing (DST gaps included) on the UTC quarter-hour grid; checking t
    # and that grid up to the opening (or 10 days) is exhaustive there.
    horizon = t + timedelta(days=10)
    if opening is not None:
        assert opening.tzinfo == load_zone(schedule.timezone)
        assert opening >= t
        assert opening <= t + timedelta(days=366)
        assert is_open(schedule, opening)
        horizon = min(horizon, opening)
    if not same_instant(opening, t):
        assert not is_open(schedule, t)
    probe = _grid_after(t)
    while probe < horizon:
        assert not is_open(schedule, probe), probe
        probe += timedelta(minutes=QUARTER)
    # Beyond the grid walk: every window start written in the schedule, day by day.
    if opening is not None and opening > horizon:
        zone = load_zone(schedule.timezone)
        day = horizon.astimezone(zone).date() - timedelta(days=1)
        while day <= opening.astimezone(zone).date():
            for start, _ in facts["week"][day.weekday()]:
                wall = datetime.combine(day, time(start // 60, start % 60), tzinfo=zone)
                if horizon <= wall < opening:
                    assert not is_open(schedule, wall), wall
            day += timedelta(days=1)


@PROPERTY
@given(schedules(), instants)
def test_open_means_next_opening_is_now(case: tuple[Schedule, dict], t: datetime) -> None:
    schedule, _ = case
    assert is_open(schedule, t) is same_instant(next_opening(schedule, t), t)


@PROPERTY
@given(schedules(), instants, st.sampled_from(ZONES))
def test_deterministic_and_independent_of_input_zone(
    case: tuple[Schedule, dict], t: datetime, zone: str
) -> None:
    schedule, _ = case
    elsewhere = t.astimezone(load_zone(zone))
    again = Schedule.model_validate_json(schedule.model_dump_json())
    first = next_opening(schedule, t)
    assert same_instant(next_opening(again, elsewhere), first)
    assert next_opening(schedule, t) == first
    assert is_open(schedule, t) is is_open(again, elsewhere) is is_open(schedule, t)
    if first is not None:
        text = describe_opening(schedule, first, t)
        assert text == describe_opening(again, first, elsewhere)
        assert " às " in text


# --- inside a Temporal workflow ---------------------------------------------------------------


class ScheduleCheck(BaseModel):
    schedule: Schedule
    now: datetime


class ScheduleAnswer(BaseModel):
    open: bool
    next_opening: datetime | None
    text: str | None


@workflow.defn(sandboxed=True)
class ScheduleProbeWorkflow:
    """Runs the schedule functions in the sandbox, at the input instant and at workflow.now()."""

    @workflow.run
    async def run(self, check: ScheduleCheck) -> ScheduleAnswer:
        opening = next_opening(check.schedule, check.now)
        is_open(check.schedule, workflow.now())
        return ScheduleAnswer(
            open=is_open(check.schedule, check.now),
            next_opening=opening,
            text=describe_opening(check.schedule, opening, check.now) if opening else None,
        )


async def test_runs_inside_workflow_sandbox(time_env: WorkflowEnvironment, task_queue: str) -> None:
    client = pydantic_client(time_env)
    # This test module is re-imported in the sandbox; hypothesis imports lazily at module level.
    restrictions = SandboxRestrictions.default.with_passthrough_modules("hypothesis")
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ScheduleProbeWorkflow],
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
    ):
        answer = await client.execute_workflow(
            ScheduleProbeWorkflow.run,
            ScheduleCheck(schedule=HOLIDAYS, now=sp(31, 9, month=12)),
            id=f"schedule-{task_queue}",
            task_queue=task_queue,
        )
    assert answer.open is False
    assert same_instant(answer.next_opening, sp(2, 8, year=2027))
    assert answer.text == "sábado às 08:00"
