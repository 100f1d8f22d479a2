"""Omni's request and response models: the Create / Update / Public family of each resource.

Request bodies refer to services by name (as the seed's forms select them); responses carry the
``id`` and the ``name``. Every field of the seed's "Novo Serviço" form is here, validated so a bad
value answers 422 naming the field. Secrets appear only in the ``...Created`` models, which are
returned once, by the request that made them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from omni.desk import WrapUpSettings, distinct_wrapup_codes
from omni.field_errors import FieldCode, first_repeated, not_null, refused
from omni.keys import MIN_WEBHOOK_SECRET_BYTES, webhook_secret_bytes
from omni.model_fields import MAX_SECONDS, Flag, HttpUrl, Model, Seconds
from omni.names import canonical
from omni.queue_cards import QueueNotifications as QueueNotifications  # re-exported: its readers
from omni.queue_cards import QueueNotificationsIn
from omni.routing_models import (
    AgentSkills,
    AgentSkillsPublic,
    AgentSkillsUpdate,
    RoutingPublic,
    RoutingSettings,
    RoutingSettingsUpdate,
)
from omni.service_care import ServiceCare

MAX_TRANSFER_GROUP = 100
REVISION_HELP = "Counts the admin's changes: `ETag` and `If-Match` (docs/omni.md)."
BOT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""Same rule as ``bots.models.BotFlow.bot`` (the Omni "Nome bot")."""

AgentStatus = Literal["available", "paused", "offline", "away"]
"""`away` ("ausente"): set by routing after too many lapsed offers (omni/routing.py)."""
QueueStatus = Literal["waiting", "in_service", "finished", "abandoned", "transferred", "voicemail"]
OPEN_QUEUE_STATUSES: tuple[QueueStatus, ...] = ("waiting", "in_service")


def _strip_name(value: str) -> str:
    """Trimmed and in NFC (omni/names.py): the same typed name is the same bytes."""
    value = canonical(value)
    if not value:
        raise refused(FieldCode.BLANK, "may not be blank")
    return value


def _webhook_secret(value: str) -> str:
    try:
        webhook_secret_bytes(value)
    except ValueError as exc:
        raise refused(
            FieldCode.WEBHOOK_SECRET, str(exc), min_bytes=MIN_WEBHOOK_SECRET_BYTES
        ) from None
    return value


ServiceName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_strip_name)]
AgentName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_strip_name)]
BotName = Annotated[str, Field(pattern=BOT_NAME_PATTERN)]
Extension = Annotated[str, Field(pattern=r"^[0-9]{3}$", description="Ramal: exactly 3 digits.")]
Percent = Annotated[int, Field(strict=True, ge=0, le=100)]
WebhookSecret = Annotated[str, Field(max_length=500), AfterValidator(_webhook_secret)]


# --- services: nested parts -------------------------------------------------------------------


class WebhookSettings(Model):
    """The "Habilitar integração Webhook Externo" settings as sent by the admin.

    ``secret`` may be supplied (``whsec_`` + base64); when the webhook has a URL and no secret
    is stored yet, one is generated and returned once.
    """

    enabled: Flag = False
    url: HttpUrl | None = None
    secret: WebhookSecret | None = None

    @model_validator(mode="after")
    def _url_when_enabled(self) -> WebhookSettings:
        if self.enabled and self.url is None:  # said at the url (webhook.url)
            at_url: InitErrorDetails = {
                "type": refused(FieldCode.URL_REQUIRED, "an enabled webhook needs a url"),
                "loc": ("url",),
                "input": None,
            }
            raise ValidationError.from_exception_data("webhook", [at_url])
        return self


class WebhookPublic(BaseModel):
    """The webhook as shown after creation: never the secret, only whether there is one."""

    enabled: bool
    url: str | None
    has_secret: bool


class WebhookCreated(WebhookPublic):
    """The webhook in the response that generated its secret (shown this once)."""

    secret: str | None = None


class WebhookTarget(BaseModel):
    """What the worker needs to deliver and sign a service's events (never leaves the server)."""

    service_id: str
    url: str
    secret: str


# --- services ---------------------------------------------------------------------------------


def _no_duplicates(names: list[str]) -> list[str]:
    if (twice := first_repeated(names)) is not None:
        raise refused(FieldCode.REPEATED, "lists the service {value} twice", value=twice)
    return names


TransferGroup = Annotated[
    list[ServiceName], Field(max_length=MAX_TRANSFER_GROUP), AfterValidator(_no_duplicates)
]


class ServiceCreate(RoutingSettings, Model):
    """The "Novo Serviço" form."""

    name: ServiceName
    service_level_percent: Percent = 80
    answer_time_seconds: Seconds = 60
    abandon_seconds: Seconds = 300
    voicemail_seconds: Annotated[int, Field(strict=True, ge=0, le=MAX_SECONDS)] = 0
    extension: Extension | None = None
    agent_screen: Flag = True
    transfer_group: TransferGroup = Field(default_factory=list)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    hidden: Flag = False
    queue_notifications: QueueNotificationsIn = Field(default_factory=QueueNotificationsIn)
    care: ServiceCare = Field(default_factory=ServiceCare)
    wrapup: WrapUpSettings = Field(default_factory=WrapUpSettings)

    _distinct_codes = field_validator("wrapup")(distinct_wrapup_codes)


class ServiceUpdate(RoutingSettingsUpdate, Model):
    """A partial change: only the fields sent are changed; ``extension: null`` removes it.

    ``webhook`` and ``queue_notifications`` are replaced as a whole (the stored webhook secret
    is kept unless a new one is sent).
    """

    name: ServiceName | None = None
    service_level_percent: Percent | None = None
    answer_time_seconds: Seconds | None = None
    abandon_seconds: Seconds | None = None
    voicemail_seconds: Annotated[int, Field(strict=True, ge=0, le=MAX_SECONDS)] | None = None
    extension: Extension | None = None
    agent_screen: Flag | None = None
    transfer_group: TransferGroup | None = None
    webhook: WebhookSettings | None = None
    hidden: Flag | None = None
    queue_notifications: QueueNotificationsIn | None = None
    care: ServiceCare | None = None
    wrapup: WrapUpSettings | None = None

    _distinct_codes = field_validator("wrapup")(distinct_wrapup_codes)

    @field_validator(
        "name",
        "service_level_percent",
        "answer_time_seconds",
        "abandon_seconds",
        "voicemail_seconds",
        "agent_screen",
        "transfer_group",
        "webhook",
        "hidden",
        "queue_notifications",
        "care",
        "wrapup",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        return not_null(value)


class ServicePublic(RoutingPublic):
    """A service as the API returns it; ``transfer_group`` lists service names."""

    id: str
    name: str
    service_level_percent: int
    answer_time_seconds: int
    abandon_seconds: int
    voicemail_seconds: int
    extension: str | None
    agent_screen: bool
    transfer_group: list[str]
    webhook: WebhookPublic
    hidden: bool
    queue_notifications: QueueNotifications
    care: ServiceCare = Field(default_factory=ServiceCare)
    wrapup: WrapUpSettings = Field(default_factory=WrapUpSettings)
    revision: int = Field(default=1, description=REVISION_HELP)
    created_at: datetime
    updated_at: datetime


class ServiceCreated(ServicePublic):
    """Create/update response: ``webhook.secret`` is set when this request generated it."""

    webhook: WebhookCreated
    bots_to_update: list[str] = Field(
        default_factory=list, description="A forced rename: bots still naming the old name."
    )


# --- integrations -----------------------------------------------------------------------------


class IntegrationCreate(Model):
    """The "Integrações → Digital Contact Bots → Criar novo" form: Serviço + Nome bot."""

    service: ServiceName
    bot: BotName


class IntegrationPublic(BaseModel):
    """An integration as listed: the key masked to its display prefix."""

    id: str
    bot: str
    service: str | None = Field(description="Service name; null once the service was deleted.")
    service_id: str | None
    key_prefix: str
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


class IntegrationCreated(IntegrationPublic):
    """Create/rotate response: the only time ``api_key`` is shown ("Copiar API Key")."""

    api_key: str


class ResolvedIntegration(BaseModel):
    """What the Humano block learns from a valid key: the bot and the service to queue in."""

    integration_id: str = Field(description="The integration of ``service`` (bot + service).")
    key_integration_id: str = Field(description="The integration the key belongs to.")
    bot: str
    service: ServicePublic


# --- agents -----------------------------------------------------------------------------------


class AgentCreate(AgentSkills, Model):
    """A human agent: the services it works and how many conversations at once."""

    name: AgentName
    services: Annotated[list[ServiceName], AfterValidator(_no_duplicates)] = Field(
        default_factory=list, max_length=MAX_TRANSFER_GROUP
    )
    capacity: Annotated[int, Field(strict=True, ge=1, le=100)] = 1
    supervisor: StrictBool = False
    """A supervisor also reaches the supervisor routes, for the services it belongs to."""


class AgentUpdate(AgentSkillsUpdate, Model):
    """A partial change of an agent."""

    name: AgentName | None = None
    services: Annotated[list[ServiceName], AfterValidator(_no_duplicates)] | None = Field(
        default=None, max_length=MAX_TRANSFER_GROUP
    )
    capacity: Annotated[int, Field(strict=True, ge=1, le=100)] | None = None
    status: AgentStatus | None = None
    supervisor: StrictBool | None = None

    @field_validator("name", "services", "capacity", "status", "supervisor")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return not_null(value)


class AgentStatusChange(Model):
    """``POST /api/agent/status``."""

    status: AgentStatus


class AgentPublic(AgentSkillsPublic):
    """An agent as the API returns it (never the token)."""

    id: str
    name: str
    services: list[str]
    capacity: int
    status: AgentStatus
    supervisor: bool = False
    revision: int = Field(default=1, description=REVISION_HELP)
    created_at: datetime
    updated_at: datetime


class AgentCreated(AgentPublic):
    """Create / new-token response: the only time ``token`` is shown."""

    token: str


# --- figures ----------------------------------------------------------------------------------


class ServiceMetrics(BaseModel):
    """``GET /services/{id}/metrics``: a service's SLA figures, from its queue entries.

    ``service_level_percent`` is answered within ``answer_time_seconds`` over answered plus
    abandoned (null before any); the estimate is the customer's (store/wait_history.py)."""

    service: str
    waiting: int
    in_service: int
    answered: int
    answered_within_target: int
    service_level_percent: float | None
    target_service_level_percent: int
    answer_time_seconds: int
    abandoned: int
    average_wait_seconds: float | None
    estimated_wait_seconds: int | None = Field(
        description="Seconds a contact queueing now (place waiting + 1) would be told to wait;"
        " null when no wait is promised: nobody of the service online, or nobody available"
        " where the service offers voicemail."
    )
