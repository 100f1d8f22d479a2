"""Routing settings of a service (automatic assignment, offer time, lapses) and agent skills.

Kept apart from omni/models.py, which mixes them into ServiceCreate/Update/Public and the agent
models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from omni.field_errors import FieldCode, first_repeated, not_null, refused

Assignment = Literal["manual", "auto"]
OfferSeconds = Annotated[int, Field(strict=True, ge=5, le=600)]
MaxLapses = Annotated[int, Field(strict=True, ge=1, le=100)]
AgentCapacity = Annotated[int, Field(strict=True, ge=1, le=100)]
"""A service's most conversations per agent at once (the agent's own `capacity` is ≤ 100 too)."""
MAX_SKILLS = 20
ROUTING_FIELDS = ("assignment", "offer_seconds", "max_lapses", "agent_capacity")


def _skills(value: list[str]) -> list[str]:
    cleaned = [skill.strip() for skill in value]
    if any(not skill for skill in cleaned):
        raise refused(FieldCode.BLANK, "a skill may not be empty")
    if (twice := first_repeated(cleaned, str.casefold)) is not None:
        raise refused(FieldCode.REPEATED, "lists the skill {value} twice", value=twice)
    return cleaned


Skills = Annotated[
    list[Annotated[str, Field(max_length=50)]],
    Field(max_length=MAX_SKILLS),
    AfterValidator(_skills),
]


class RoutingSettings(BaseModel):
    """``assignment``: `manual` (agents pull with next/pickup) or `auto` (offers pushed to
    agents); ``offer_seconds``: how long an offer waits for Aceitar; ``max_lapses``: offers an
    agent may let lapse in a row before becoming `away` ("ausente"); ``agent_capacity``: the
    most conversations of this service one agent holds at once (offers included; null: no limit
    but the agent's own `capacity`, which still caps the total)."""

    model_config = ConfigDict(extra="forbid")

    assignment: Assignment = "manual"
    offer_seconds: OfferSeconds = 30
    max_lapses: MaxLapses = 3
    agent_capacity: AgentCapacity | None = None


class RoutingSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignment: Assignment | None = None
    offer_seconds: OfferSeconds | None = None
    max_lapses: MaxLapses | None = None
    agent_capacity: AgentCapacity | None = None
    """Null removes the service's limit (unlike the others, which may not be null)."""

    @field_validator("assignment", "offer_seconds", "max_lapses")
    @classmethod
    def _routing_not_null(cls, value: object) -> object:
        """Named apart from ServiceUpdate's `_not_null`, which would replace it (a subclass's
        method of the same name hides the validator)."""
        return not_null(value)


class RoutingPublic(BaseModel):
    assignment: Assignment = "manual"
    offer_seconds: int = 30
    max_lapses: int = 3
    agent_capacity: int | None = None


class AgentSkills(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skills: Skills = Field(default_factory=list)


class AgentSkillsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skills: Skills | None = None


class AgentSkillsPublic(BaseModel):
    skills: list[str] = Field(default_factory=list)


class OfferPublic(BaseModel):
    """An open offer of a waiting conversation to an agent (the screen rings)."""

    id: str
    entry_id: str
    conversation_id: str
    service: str
    agent_id: str
    preview: str | None
    expires_at: datetime
