"""Conversation test files (`flows/tests/*.test.yaml`): the steps they hold, and their values.

A file names its bot and holds a list of tests; each test is a list of steps, one key per step
(`say`, `expect`, `wait`, `agent`, `expect_status`, `expect_variables`, `leave`). Reading a
file is `reader.py`; one step's value is `steps.py`. The format is documented in docs/flows.md
("Conversation tests").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

STATUSES = ("bot", "waiting", "in_service", "voicemail", "ended")
SENDERS = ("bot", "agent", "system")
AGENT_ACTIONS = ("pickup", "next", "say", "transfer", "finish", "status", "accept", "decline")
AGENT_STATUSES = ("available", "paused", "offline", "away")
EXPECT_KEYS = ("text", "pattern", "menu", "options", "from", "kind")
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_RECURRING = re.compile(
    r"^(?:(?P<weekday>mon|tue|wed|thu|fri|sat|sun)|(?P<monthday>\d\d-\d\d))\s+"
    r"(?P<time>\d\d:\d\d)$"
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Expectation:
    """What the next message must be: exact text, a pattern, a menu, a sender, a kind."""

    text: str | None = None
    pattern: re.Pattern[str] | None = None
    menu: str | None = None
    options: list[str] | None = None
    sender: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class At:
    """The clock at the start of a test: an instant, or the next `mon 10:00` / `12-25 10:00`."""

    instant: datetime | None = None
    weekday: int | None = None
    month_day: tuple[int, int] | None = None
    hour: int = 0
    minute: int = 0
    text: str = ""


@dataclass(frozen=True)
class Step:
    """One step; `line` is where it is written in the test file."""

    line: int
    action: str
    value: Any = None
    agent: str | None = None


@dataclass
class ConversationTest:
    name: str
    line: int
    steps: list[Step]
    at: At | None = None
    contact: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestFile:
    path: Path
    bot: str
    flow: Path
    tests: list[ConversationTest]
    services: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)

    __test__ = False  # not a pytest class


def parse_duration(value: Any) -> timedelta:
    """`90` (seconds), `"30s"`, `"10m"`, `"1h30m"`, `"2d"` → a timedelta; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h30m or 2d")
    if isinstance(value, int | float) and value >= 0:
        return timedelta(seconds=value)
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration (use 30s, 10m, 1h30m or 2d)")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_at(value: Any) -> At:
    """An ISO 8601 instant, or a recurring moment: `mon 10:00`, `12-25 10:00`."""
    if not isinstance(value, str):
        raise ValueError("expected a date and time such as 2026-12-01T10:00-03:00 or mon 10:00")
    text = value.strip()
    match = _RECURRING.match(text)
    if match:
        hour, minute = (int(p) for p in match["time"].split(":"))
        if hour > 23 or minute > 59:
            raise ValueError(f"{match['time']!r} is not a time of day")
        if match["weekday"]:
            return At(weekday=WEEKDAYS.index(match["weekday"]), hour=hour, minute=minute, text=text)
        month, day = (int(p) for p in match["monthday"].split("-"))
        try:
            datetime(2000, month, day)  # a leap year: 02-29 is a date
        except ValueError:
            raise ValueError(f"{match['monthday']!r} is not a month and day (MM-DD)") from None
        return At(month_day=(month, day), hour=hour, minute=minute, text=text)
    try:
        return At(instant=datetime.fromisoformat(text), text=text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date and time (2026-12-01T10:00-03:00, mon 10:00 or 12-25 10:00)"
        ) from None
