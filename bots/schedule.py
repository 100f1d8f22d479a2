"""Business hours and holidays ("Horário de atendimento", "Dias de folga"): pure, no I/O.

PLACEHOLDER interface; the full module (validation, DST, ranges, next_opening) replaces it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Holiday(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str
    name: str = ""


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "America/Sao_Paulo"
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: list[Holiday] = Field(default_factory=list)
    emergency_closed: bool = False


def is_open(schedule: Schedule, instant: datetime) -> bool:
    raise NotImplementedError


def next_opening(schedule: Schedule, instant: datetime) -> datetime | None:
    raise NotImplementedError


def describe_opening(schedule: Schedule, opening: datetime) -> str:
    """pt-BR text for customers, e.g. "segunda-feira às 08:00"."""
    raise NotImplementedError
