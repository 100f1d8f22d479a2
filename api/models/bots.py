"""The bots API's models: a published version, and a bot's "Atendimento Humano" settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class BotPublic(BaseModel):
    bot: str
    version: int
    created_at: datetime
    warnings: list[str] = Field(default_factory=list)


class BotListed(BotPublic):
    web_chat: bool = Field(
        description="The newest version accepts the public web chat (`channels: {web: true}`)."
    )


class BotDetail(BotPublic):
    source: str
    flow: dict[str, Any]


# --- settings (Bots → (bot) → Atendimento Humano) ---------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HumanServiceChange(_Strict):
    """The "Atendimento Humano" change: fields left out keep their value (no key: keep it)."""

    platform: Literal["omni_v2"] | None = None
    omni_key: str | None = Field(default=None, min_length=1, max_length=500)
    wait_time_notice: Literal["never", "once", "periodic"] | None = None


class HolidayIn(_Strict):
    date: str = Field(min_length=1, max_length=40)
    name: str = Field(default="", max_length=200)


class ScheduleChange(_Strict):
    """The "Horário de atendimento" and "Dias de folga" change. The flow loader checks the
    values, so a bad window or date answers 422 with the YAML line it was written to."""

    timezone: str | None = Field(default=None, min_length=1, max_length=100)
    hours: dict[str, list[str]] | None = Field(
        default=None,
        description="Left out: kept as they are (absent stays absent: open at any hour);"
        " `null`: removed, so service is open at any hour (holidays still close).",
    )
    holidays: list[HolidayIn] | None = None
    emergency_closed: bool | None = None


class BotSettingsChange(_Strict):
    """`PATCH /api/bots/{bot}/settings`."""

    human_service: HumanServiceChange | None = None
    schedule: ScheduleChange | None = None


KeyState = Literal["configured", "variable", "unset_variable", "missing"]


class KeyStatus(BaseModel):
    """What the "Chave Omni" field shows: never the key itself."""

    state: KeyState
    variable: str | None = None


class BotSettingsPublic(BaseModel):
    """The settings screen's view of a bot's newest version."""

    bot: str
    version: int
    human_service: dict[str, Any] | None
    omni_key: KeyStatus
    schedule: dict[str, Any] | None
    start: str
    blocks: dict[str, Any]
