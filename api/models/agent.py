"""The agent API's models: the queue, a pickup, a message, a transfer, a finish."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from pydantic import BaseModel, Field, StrictBool, model_validator

from api.models.channel import MessagePublic, agent_key
from omni.desk import Label, Tags
from omni.models import AgentPublic, AgentStatusChange
from store.common import new_id
from store.tables import messages
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

LOGGED_ID_LENGTH = cast(sa.String, messages.c.message_id.type).length or 0
"""The longest message id the log keeps (`messages.message_id`)."""
AGENT_ID_LENGTH = len(new_id("agt"))
"""An agent's id as store/agents.py `create_agent` makes it: `agt_` and 20 hex digits."""
MAX_AGENT_MESSAGE_ID_LENGTH = LOGGED_ID_LENGTH - len(agent_key("a" * AGENT_ID_LENGTH, ""))
"""The longest `message_id` an agent may give: the log keeps it under the agent's key
(`agent_key`), which must fit the column, or the agent's screens could not match the reply to
its send."""


class AgentConversation(BaseModel):
    """A conversation as the agent screen needs it before its transcript."""

    conversation_id: str
    service: str
    status: str
    contact_name: str | None = Field(
        default=None, description="The name the contact gave, when it gave one."
    )
    contact: str | None = Field(
        default=None,
        description="The end of the contact's id (\"…4321\"), as the supervisor's list shows it.",
    )


class QueueItem(BaseModel):
    conversation_id: str
    service: str
    enqueued_at: datetime
    waiting_seconds: int
    preview: str | None
    choice: str | None = Field(
        default=None,
        description="The label of the bot's menu option `preview` chose by its number.",
    )


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
        max_length=MAX_AGENT_MESSAGE_ID_LENGTH,
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
    # strict: "no" is not False (a 422, not a finish the agent did not mean)
    return_to_bot: StrictBool = True
    wrapup_code: Label | None = Field(
        default=None, description='One of the service\'s wrap-up codes ("tabulação").'
    )
    tags: Tags = Field(default_factory=list, description="Free tags added at the finish.")
