"""The models that cross the conversation workflow's boundary: input, updates, queries, activities.

One input and one output model per workflow, update, query and activity, so fields can be added
later without breaking running conversations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bots.models import BotFlow
from omni.service_care import CarriedCare, ServiceCare
from workflows import patches
from workflows.desk_contracts import WrapUpNow
from workflows.interpreter import FlowState
from workflows.offer_contracts import OfferNotice as OfferNotice  # Handoff's (re-exported)
from workflows.webhook_contracts import PendingWebhook

Sender = Literal["customer", "bot", "agent", "system", "supervisor"]
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


class ChannelRef(BaseModel):
    """Where the customer is when not on our API: the platform and its address of the chat
    (a WhatsApp number, a Telegram chat id). The workflow delivers what it says there."""

    platform: str
    recipient: str


class ConversationState(BaseModel):
    """Everything a conversation knows, in one value: the workflow holds it and takes it whole
    through continue-as-new (what only lasts a run — outboxes, the lock — lives beside it).

    The JSON field names are those of the former `Carried` input, so runs that continued as new
    before this model existed still start and replay."""

    state: FlowState
    """The flow's position and variables (the interpreter's state)."""
    status: Status = "bot"
    seq: int = 0
    """The last transcript sequence number handed out."""
    recent: list[Message] = Field(default_factory=list)
    answered: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """Customer message id → (replied through before it, last seq of its answer)."""
    last_customer_at: datetime | None = None
    timeout_generation: int = 0
    """Bumped whenever the conversation moves on: a pending timer of an older one is stale."""
    handoff: Handoff | None = None
    replied_through: int = 0
    escapes_fired: list[int] = Field(default_factory=list)
    """Inactivity escape routes already fired in the customer's current silence."""
    question_deadline: datetime | None = None
    """When the question awaiting an answer times out (its `timeout_seconds`)."""
    csat: CsatPending | None = None
    """The satisfaction survey asked after human service, until answered or timed out."""
    channel_through: int = 0
    """Transcript entries up to this seq were handed to the customer's channel (when it has one)."""
    channel_acked: int = 0
    """Customer entries up to this seq were acknowledged on the channel (read, typing)."""
    left: bool = False
    """The customer left (Signal `leave`): carried, so a run that continued as new before it
    could act on it ends the conversation in the next run (workflows/continuing.py)."""
    webhooks: list[PendingWebhook] = Field(default_factory=list)
    """Webhook events not delivered when the run continued as new, oldest first: the next run
    delivers them (workflows/webhook_events.py); empty while a run lives."""

    @classmethod
    def fresh(cls, contact: Contact) -> ConversationState:
        return cls(state=FlowState(contact=contact.as_template()))


class ConversationInput(BaseModel):
    conversation_id: str
    bot: str
    bot_version: int
    flow: BotFlow
    contact: Contact
    carried: ConversationState | None = None
    """The state of the previous run, when this run continues a conversation as new."""
    max_updates_per_run: int = 1000
    """Continue-as-new after this many customer messages (the server caps updates per run)."""
    unengaged_idle_seconds: int = 3600
    """Idle limit of a conversation whose customer sent only the first message (the setting
    TRANSBORDO_UNENGAGED_IDLE_SECONDS; engaged ones keep 24 h)."""
    channel: ChannelRef | None = None
    """The customer's channel (WhatsApp, Telegram): everything said is delivered there."""
    record_delay_ms: int = 200
    """How long a run in the batching mode gathers a customer turn's messages before recording
    them (TRANSBORDO_RECORD_DELAY_SECONDS; older runs 200 ms); unused in ahead mode."""
    code_version: int = 1
    """The code version this run started at (`patches.CODE_VERSION`; continue-as-new keeps it;
    none: 1), which decides the patches it takes without a marker (workflows/patches.py)."""


class CustomerMessage(BaseModel):
    message_id: str
    text: str
    contact: Contact | None = None
    data: dict[str, Any] | None = None
    """What a channel adds to the entry (media, the option chosen, how to acknowledge it)."""
    log_ahead: bool = False  # the caller writes the turn (workflows/message_log.py)
    menu: str | None = None
    """A channel's menu button press: the tag of the menu it belongs to, `text` the option's
    number (workflows/menu_press.py)."""

    def problem(self) -> str | None:
        """Why the workflow refuses it (None: it may be answered)."""
        if not self.message_id or len(self.message_id) > MAX_MESSAGE_ID_LENGTH:
            return f"message_id must have 1 to {MAX_MESSAGE_ID_LENGTH} characters"
        if not self.text.strip():
            return "text is empty"
        if len(self.text) > MAX_TEXT_LENGTH:
            return f"text is longer than {MAX_TEXT_LENGTH} characters"
        return None


class LogStatus(BaseModel):
    """The row as an Update leaves it, for a `log_ahead` caller to write (`record_turn`)."""

    status: Status
    block: str | None = None
    service: str | None = None
    agent: str | None = None


class AgentMessageSent(Message):
    """The agent's entry as `agent_message` answers it, with the row's status for a
    `log_ahead` caller when the entry is the run's newest."""

    log: LogStatus | None = None


class TurnReply(BaseModel):
    """The answer to one customer message: its own entry and the bot's replies."""

    conversation_id: str
    status: Status
    replies: list[Message]
    bot_version: int = 0
    started: bool = False  # this message started the conversation
    customer: Message | None = None
    """The customer's own entry (its seq), so the API can write the turn to the log at once."""
    log: LogStatus | None = None  # a `log_ahead` turn's, when its entries are the newest

    def entries(self) -> list[Message]:
        """The turn's entries for the log: the customer's, then the replies."""
        return [*([self.customer] if self.customer else []), *self.replies]


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
    through: int | None = None
    """The run's seq when the batch was taken (ahead mode): orders its status against the
    API's (store/conversations.py). None: written as it comes (before ahead mode)."""


class ServiceSnapshot(BaseModel):
    """A service's settings as a handoff needs them, taken when the customer enters its queue
    (resolve or transfer): one type, so a transfer cannot keep half of the old service's."""

    service_id: str
    service_name: str
    abandon_seconds: int
    voicemail_seconds: int = 0
    notifications_enabled: bool = False
    notification_interval_seconds: int = 0
    notification_cards: list[dict[str, Any]] = Field(default_factory=list)
    webhook: bool = False
    """The service has an external webhook: events of its handoffs are sent to it."""
    care: CarriedCare = Field(default_factory=CarriedCare)
    """Wait notices, silent agents and customers, CSAT (all off unless the service sets them)."""
    wrapup_required: bool = False
    """An agent finishes only with a wrap-up code of `wrapup_codes` (omni/desk.py)."""
    wrapup_codes: list[str] = Field(default_factory=list)
    assignment: str = "manual"
    """`auto`: waiting conversations are offered to agents (store/routing.py)."""
    offer_seconds: int = 30

    @field_validator("care", mode="before")
    @classmethod
    def _carried(cls, value: Any) -> Any:
        """A service's `ServiceCare` is taken as the lenient copy histories carry."""
        if isinstance(value, ServiceCare) and not isinstance(value, CarriedCare):
            return value.model_dump()
        return value

    @property
    def card_interval_seconds(self) -> int:
        """How often the queue's carousel of cards is sent (0: never)."""
        if not self.notifications_enabled or not self.notification_cards:
            return 0
        return self.notification_interval_seconds


class Handoff(BaseModel):
    """A Humano block in progress: the queue entry, its service and who has it."""

    block: str
    service: ServiceSnapshot
    entry_id: str
    show_agent_name: bool = True
    enqueued_at: datetime
    agent_id: str | None = None
    agent_name: str | None = None
    last_notification_at: datetime | None = None
    max_wait_seconds: int | None = None
    voicemail_until: datetime | None = None
    """Set while the customer may leave a voicemail ("Caixa Postal")."""
    voicemail_texts: list[str] = Field(default_factory=list)
    care: HandoffCare = Field(default_factory=lambda: HandoffCare())
    """The care timers' marks (workflows/care.py)."""
    tags: list[str] = Field(default_factory=list)
    """Free tags agents put on the conversation during this handoff (workflows/desk.py)."""
    offer: OfferNotice | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_service(cls, data: Any) -> Any:
        """Handoffs carried before ServiceSnapshot held the service's fields flat."""
        if isinstance(data, dict) and "service" not in data and "service_id" in data:
            data = dict(data)
            interval = data.pop("notification_interval_seconds", 0)
            data["service"] = {
                "service_id": data.pop("service_id"),
                "service_name": data.pop("service_name"),
                "abandon_seconds": data.pop("abandon_seconds"),
                "voicemail_seconds": data.pop("voicemail_seconds", 0),
                "notifications_enabled": bool(interval),
                "notification_interval_seconds": interval,
                "notification_cards": data.pop("notification_cards", []),
                "webhook": data.pop("webhook", False),
            }
        return data


class HandoffCare(BaseModel):
    """What the care timers remember of a handoff (workflows/care_timers.py)."""

    last_notice_at: datetime | None = None
    """The periodic wait notice was last looked at (None: at the queueing)."""
    notice_position: int | None = None
    notice_seconds: int | None = None
    """The last notice sent (position, estimate)."""
    notice_checks: int = 0
    """Checks since the last notice sent."""
    customer_waiting_since: datetime | None = None
    """The customer's oldest message the agent has not answered yet (None: answered)."""
    agent_alerted: bool = False
    """The agent-silence alert fired for the current unanswered message."""
    agent_spoke_at: datetime | None = None
    """The agent's last message: the customer's silence counts from it (None until the agent
    speaks: a customer is not warned of silence before the agent said anything)."""
    customer_warned_at: datetime | None = None


class CsatPending(BaseModel):
    """A satisfaction survey in progress: the finished handoff (who served, which service) and
    where the conversation goes once answered or timed out."""

    handoff: Handoff
    asked_at: datetime
    return_to_bot: bool = True


class PickupRequest(BaseModel):
    agent_id: str
    agent_name: str
    log_ahead: bool = False  # the caller writes the notice (`PickupResult.logged`, `log`)
    care: CarriedCare | None = None
    """The service's care settings as the API read them for this pickup: they replace the
    queueing's copy for the time in service (None: an older API, or the service is gone)."""
    care_of: str | None = None  # the service it was read from: another's is not applied

    def with_carried_care(self, service: ServiceSnapshot) -> ServiceSnapshot:
        """The handoff's service once picked up: its care as the admin left it (workflow code:
        patch CARE_AT_PICKUP, as an older worker ignored a carried `care`)."""
        if self.care is None or self.care_of != service.service_id:
            return service
        if not patches.patched(patches.CARE_AT_PICKUP):
            return service
        return service.model_copy(update={"care": self.care})


class PickupResult(BaseModel):
    conversation_id: str
    transcript: list[Message]
    variables: dict[str, Any]
    service: str
    waited_seconds: int
    repeated: bool = False
    """The agent already had the conversation: this answers a pickup sent again, not a claim
    (`next` wants a conversation it newly took, so it moves on)."""
    logged: list[Message] = Field(default_factory=list)  # a `log_ahead` pickup's, with `log`
    log: LogStatus | None = None


class AgentMessage(BaseModel):
    agent_id: str
    text: str
    message_id: str | None = None
    log_ahead: bool = False  # the caller writes the entry (`AgentMessageSent`)

    def key(self) -> str | None:
        """The reply's id as its Update's and its entry's (`agent_key`; None: none or too long
        for the log)."""
        key = agent_key(self.agent_id, self.message_id) if self.message_id else None
        return key if key is not None and len(key) <= MAX_MESSAGE_ID_LENGTH else None


AGENT_KEY_PREFIX = "agent:"
"""How an agent's reply's id starts, as its Update's id and in the log (`agent_key`)."""


def agent_key(agent_id: str, message_id: str) -> str:
    """An agent's message id as its Update's id and as the log keeps it: the agent's own, so
    only that agent reads it back (api/models/channel.py `agent_reader`); a customer's id may
    not start so (api/models/channel.py `MessageIn`)."""
    return f"{AGENT_KEY_PREFIX}{agent_id}:{message_id}"


class TransferUpdate(BaseModel):
    """The `transfer` Update: to a service by name or by extension (exactly one)."""

    agent_id: str
    service: str | None = None
    extension: str | None = None


class FinishRequest(BaseModel):
    agent_id: str
    return_to_bot: bool = True
    wrapup_code: str | None = None
    tags: list[str] = Field(default_factory=list)
    wrapup: WrapUpNow | None = None
    """The service's wrap-up settings now; None (a request from before): the queue's copy."""
    log_ahead: bool = False  # the caller writes the entries (answered as a `FinishResult`)


class FinishResult(BaseModel):
    """A `log_ahead` finish's answer: its entries (the notice, what the bot or the survey said
    after it), the row's status; others answer the status alone, as before."""

    status: Status
    logged: list[Message]
    log: LogStatus | None = None


ConversationState.model_rebuild()
Handoff.model_rebuild()
