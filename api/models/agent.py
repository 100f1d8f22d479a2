"""The agent API's models: the queue, a pickup, a message, a transfer, a finish."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from api.models.channel import MessagePublic
from omni.desk import Label, Tags
from omni.models import AgentPublic, AgentStatusChange
from workflows.contracts import MAX_TEXT_LENGTH

__all__ = [
    "AgentPublic",
    "AgentStatusChange",
    "AgentText",
    "FinishBody",
    "PickupPublic",
    "QueueItem",
    "TransferBody",
    "TransferTarget",
]


class AgentConversation(BaseModel):
    """A conversation as the agent screen needs it before its transcript."""

    conversation_id: str
    service: str
    status: str


class QueueItem(BaseModel):
    conversation_id: str
    service: str
    enqueued_at: datetime
    waiting_seconds: int
    preview: str | None


class PickupPublic(BaseModel):
    conversation_id: str
    transcript: list[MessagePublic]
    variables: dict[str, Any]
    service: str
    waited_seconds: int


class AgentText(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The client's id for this message: a retry with the same id is sent once.",
    )


class TransferBody(BaseModel):
    service: str | None = Field(default=None, min_length=1)
    extension: str | None = Field(default=None, pattern=r"^\d{3}$")

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.service is None) == (self.extension is None):
            raise ValueError("give either service or extension")
        return self


class TransferTarget(BaseModel):
    name: str
    extension: str | None


class FinishBody(BaseModel):
    return_to_bot: bool = True
    wrapup_code: Label | None = Field(
        default=None, description='One of the service\'s wrap-up codes ("tabulação").'
    )
    tags: Tags = Field(default_factory=list, description="Free tags added at the finish.")
