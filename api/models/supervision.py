"""The supervisor's API models: whisper, barge-in, take-over, reassign, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.models.channel import MessagePublic
from workflows.contracts import MAX_TEXT_LENGTH

SupervisorName = Annotated[str, Field(min_length=1, max_length=100)]
"""How the agent and the customer see the supervisor ("Supervisor Carla"), and who the audit
names, with the admin token (shared: the supervisor signs each action). With a supervisor's own
token the account's name is used and this text is ignored."""


class SupervisorText(BaseModel):
    """A whisper (to the agent only) or a barge-in (to the customer)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    supervisor: SupervisorName = "Supervisor"


class TakeOverBody(BaseModel):
    """The supervisor's own agent account (its id) becomes the handling agent. Needed with the
    admin token; with a supervisor's token the caller's own account takes over."""

    agent: str | None = Field(default=None, min_length=1, max_length=64)
    supervisor: SupervisorName = "Supervisor"


class ReassignBody(BaseModel):
    """Another agent (by id) or another service (by name, to the back of its queue)."""

    agent: str | None = Field(default=None, min_length=1, max_length=64)
    service: str | None = Field(default=None, min_length=1, max_length=100)
    supervisor: SupervisorName = "Supervisor"


class SupervisorActionResult(BaseModel):
    """What the action did: its audit id, the entry it wrote, where the conversation is now."""

    id: str
    action: str
    message: MessagePublic | None = None
    agent: str | None = None
    service: str | None = None
    status: str


class SupervisorActionPublic(BaseModel):
    """One audited action (who, when, which conversation, which agent had it, where it went)."""

    id: str
    conversation_id: str
    action: str
    supervisor: str
    agent: str | None
    target: str | None
    created_at: datetime
