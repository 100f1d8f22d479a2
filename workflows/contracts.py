"""The models that cross the conversation workflow's boundary: input, updates, queries, activities.

One input and one output model per workflow, update, query and activity, so fields can be added
later without breaking running conversations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bots.models import BotFlow
from workflows.interpreter import FlowState

Sender = Literal["customer", "bot", "agent", "system"]
Status = Literal["bot", "waiting", "in_service", "voicemail", "ended"]

MAX_TEXT_LENGTH = 4096
MAX_MESSAGE_ID_LENGTH = 200


class Contact(BaseModel):
    id: str
    name: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def as_template(self) -> dict[str, Any]:
        return {**self.extra, "id": self.id, "name": self.name or ""}


class Message(BaseModel):
    """One entry of a conversation's transcript (what customers, bot and agents said)."""

    seq: int
    sender: Sender
    kind: str = "text"
    text: str | None = None
    options: list[str] | None = None
    data: dict[str, Any] | None = None
    message_id: str | None = None
    at: datetime


class Carried(BaseModel):
    """What a conversation takes with it through continue-as-new."""

    state: FlowState
    status: Status
    seq: int
    recent: list[Message]
    answered: dict[str, tuple[int, int]]
    last_customer_at: datetime | None = None
    timeout_generation: int = 0
    handoff: Handoff | None = None
    replied_through: int = 0
    escapes_fired: list[int] = Field(default_factory=list)


class ConversationInput(BaseModel):
    conversation_id: str
    bot: str
    bot_version: int
    flow: BotFlow
    contact: Contact
    carried: Carried | None = None
    max_updates_per_run: int = 1000
    """Continue-as-new after this many customer messages (the server caps updates per run)."""


class CustomerMessage(BaseModel):
    message_id: str
    text: str
    contact: Contact | None = None


class TurnReply(BaseModel):
    """The answer to one customer message: its own entry and the bot's replies."""

    conversation_id: str
    status: Status
    replies: list[Message]
    bot_version: int = 0
    started: bool = False
    """True when this message started the conversation."""


class ConversationSnapshot(BaseModel):
    conversation_id: str
    bot: str
    bot_version: int
    contact_id: str
    status: Status
    block: str | None
    variables: dict[str, Any]
    last_seq: int


class RecordBatch(BaseModel):
    """New transcript entries and the conversation's current status, for the SQL log."""

    conversation_id: str
    workflow_id: str
    bot: str
    bot_version: int
    contact_id: str
    status: Status
    block: str | None
    service: str | None = None
    agent: str | None = None
    messages: list[Message]


class Handoff(BaseModel):
    """A Humano block in progress: the queue entry, its service and who has it."""

    block: str
    service_id: str
    service_name: str
    entry_id: str
    abandon_seconds: int
    show_agent_name: bool = True
    enqueued_at: datetime
    agent_id: str | None = None
    agent_name: str | None = None
    notification_interval_seconds: int = 0
    notification_cards: list[dict[str, Any]] = Field(default_factory=list)
    last_notification_at: datetime | None = None
    voicemail_seconds: int = 0
    max_wait_seconds: int | None = None
    voicemail_until: datetime | None = None
    """Set while the customer may leave a voicemail ("Caixa Postal")."""
    voicemail_texts: list[str] = Field(default_factory=list)
    webhook: bool = False
    """The service has an external webhook: events of this handoff are sent to it."""


class PickupRequest(BaseModel):
    agent_id: str
    agent_name: str


class PickupResult(BaseModel):
    conversation_id: str
    transcript: list[Message]
    variables: dict[str, Any]
    service: str
    waited_seconds: int


class AgentMessage(BaseModel):
    agent_id: str
    text: str
    message_id: str | None = None


class TransferRequest(BaseModel):
    agent_id: str
    service: str | None = None
    extension: str | None = None


class FinishRequest(BaseModel):
    agent_id: str
    return_to_bot: bool = True


Carried.model_rebuild()
