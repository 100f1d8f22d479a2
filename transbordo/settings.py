"""One Settings object, read from the environment in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bots.limits import FlowLimits
from encryption.codec import KeyRing
from omni.attachments import DEFAULT_TYPES as ATTACHMENT_TYPES
from omni.attachments import Limits as AttachmentLimits
from store.attachment_files import FileStore, file_store

MIN_ADMIN_TOKEN_LENGTH = 32
"""Characters of the admin token: 32 random URL-safe characters are 192 bits."""

MIN_PRESENCE_TIMEOUT_SECONDS = 30.0
"""The shortest `agent_presence_timeout_seconds` (besides 0, off)."""

UNLIMITED_RATES = {
    "rate_limit_per_address": "1000000/minute",
    "rate_limit_messages_per_address": "1000000/minute",
    "rate_limit_messages_per_contact": "1000000/minute",
    "rate_limit_messages_per_bot": "1000000/minute",
    "rate_limit_web_messages_per_bot": "1000000/minute",
    "rate_limit_sessions_per_address": "1000000/minute",
    "rate_limit_failed_signatures_per_address": "1000000/minute",
}
"""For test beds and benches, where one address plays every customer at machine speed."""


class Settings(BaseSettings):
    """Every knob of Transbordo; `transbordo up` flags override these."""

    model_config = SettingsConfigDict(env_prefix="TRANSBORDO_", extra="ignore")

    data_dir: Path = Path(".data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TRANSBORDO_DATABASE_URL")
    )
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "TRANSBORDO_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "TRANSBORDO_TEMPORAL_NAMESPACE"),
    )
    temporal_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_API_KEY", "TRANSBORDO_TEMPORAL_API_KEY"),
    )
    task_queue: str = "transbordo"
    admin_token: str | None = None
    """The admin bearer token: at least `MIN_ADMIN_TOKEN_LENGTH` characters (`up` makes one)."""
    flows_dir: Path = Path("flows")
    smtp_host: str | None = None
    """The SMTP server for transcript e-mails (unset: no mail is sent; docs/operations.md)."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Transbordo <nao-responda@localhost>"
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS before logging in (off only on a trusted network)."""
    reply_timeout_seconds: float = Field(default=5.0, gt=0)
    max_messages_per_run: int = Field(default=1000, ge=1, le=1800)
    """Customer messages per run before continue-as-new (the server caps updates at 2,000)."""
    flow_max_blocks: int = Field(default=2_000, ge=1)
    flow_max_bytes: int = Field(default=512 * 1024, ge=1024)
    flow_env_allow: list[str] = Field(default_factory=lambda: ["FLOW_*"])
    """Environment variables flows may read as ${NAME} (`*` wildcards); see docs/flows.md."""
    web_session_seconds: int = Field(default=24 * 3600, ge=60)
    """How long a web chat session lasts (the browser asks for a new one after)."""
    encryption_keys: SecretStr | None = None
    """Payload and secret encryption keys, `id:base64key,...` (32-byte keys, the first is
    active); unset: `<data_dir>/keys.json`, created on first start. See docs/architecture.md."""
    contact_hash_key: SecretStr | None = None
    """Base64 key (>= 32 bytes) of the contact id's keyed hash; set with `encryption_keys`."""
    ui_origins: list[str] | None = None
    """Origins allowed to call the codec endpoint (the Temporal UI); default: the local UI."""
    # --- limits of the front door (docs/limits.md) -------------------------------------------
    body_max_bytes: int = Field(default=64 * 1024, ge=1024)
    """Request bodies of any route without a limit of its own."""
    channel_body_max_bytes: int = Field(default=80 * 1024, ge=1024)
    """Request bodies of the public channel routes: room for the largest valid message written
    the longest way JSON allows (docs/limits.md), usually a few hundred bytes."""
    bot_body_slack_bytes: int = Field(default=16 * 1024, ge=0)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """An attachment's size (its upload routes' body limit is this plus `bot_body_slack_bytes`,
    so the route's own pt-BR 413 says the limit)."""
    attachment_types: list[str] = Field(default_factory=lambda: list(ATTACHMENT_TYPES))
    """The content types accepted, as the file's first bytes say (omni/attachments.py)."""
    attachment_encryption: bool = True
    """Attachments are encrypted at rest with the key ring (AES-256-GCM, per file)."""
    attachment_s3_bucket: str | None = None
    """Set: attachments are kept in this S3-compatible bucket; unset: `<data_dir>/attachments`."""
    attachment_s3_prefix: str = ""
    attachment_s3_endpoint: str | None = None
    attachment_s3_region: str | None = None
    attachment_s3_access_key: str | None = None
    attachment_s3_secret_key: SecretStr | None = None
    """Unset (with the access key): boto3's own credential chain (environment, profile, role)."""
    """A bot's YAML PUT may be `flow_max_bytes` plus this (so the flow's own 422 says the limit)."""
    contact_max_keys: int = Field(default=20, ge=1)
    """Extra fields of a message's `contact` (besides `name`)."""
    contact_max_key_length: int = Field(default=64, ge=1)
    contact_max_value_length: int = Field(default=500, ge=1)
    contact_max_bytes: int = Field(default=4 * 1024, ge=256)
    """All of a `contact`, as JSON (it is copied into the workflow input and every message)."""
    rate_limit_storage: str = "memory://"
    """`limits` storage: memory:// (one process) or redis://host:port when several replicas."""
    rate_limit_per_address: str = "300/minute"
    """Requests to the public channel routes from one client address."""
    rate_limit_messages_per_address: str = "60/minute"
    """Customer messages posted from one client address."""
    rate_limit_messages_per_contact: str = "30/minute"
    """Customer messages of one contact (a person types slower than this)."""
    rate_limit_messages_per_bot: str = "1200/minute"
    """Customer messages to one bot from its connectors (`tbc_…`; protects the workers and the
    queues). Web-chat sessions' messages count under the next one instead; the channels'
    webhooks (WhatsApp, Telegram) under no rule per bot."""
    rate_limit_web_messages_per_bot: str = "600/minute"
    """Customer messages to one bot from web-chat sessions, which anyone can open: their flood
    uses up this share only, never the connectors' `rate_limit_messages_per_bot`."""
    rate_limit_sessions_per_address: str = "10/minute"
    """Web-chat sessions issued to one client address."""
    rate_limit_failed_signatures_per_address: str = "30/minute"
    """Channel webhooks (WhatsApp, Telegram) that fail their signature check, from one client
    address; past it that address is refused before any check. Valid ones are never counted."""
    rate_limit_typing_per_conversation: str = "30/minute"
    """Typing signals of one side of a conversation (a screen sends one every few seconds)."""
    rate_limit_ipv6_prefix: int = Field(default=64, ge=32, le=128)
    """The limits per client address count an IPv6 address by this prefix (an IPv6 host holds
    a whole /64, often a /56); IPv4 addresses one by one (api/client_keys.py)."""
    max_streams_per_address: int = Field(default=8, ge=1)
    """Open customer SSE streams (conversation streams) from one client address, per API
    process. Agent streams are not counted here (customers behind an office's NAT must not lock
    its agents out): they are capped per agent, after the token check (api/stream_cap.py)."""
    max_streams_per_agent: int = Field(default=8, ge=1)
    """Open agent streams of one agent, per API process (a screen holds one). A stream whose
    client vanished without closing (a laptop asleep) holds its place until the server gives
    up on the connection: within ~45 s (`tcp_user_timeout_seconds`) when the API faces the
    browsers itself or the proxy in front bounds its own side the same way (docs/limits.md
    "Screens that vanish"); behind one that does not, until that proxy gives its side up (its
    kernel retransmits for ~15 min)."""
    tcp_user_timeout_seconds: float = Field(default=30.0, ge=0, le=3600)
    """How long data the API sent may stay unacknowledged before the kernel drops the
    connection (`TCP_USER_TIMEOUT` on every accepted connection, Linux; api/coalesced_http.py).
    A stream's keep-alive (`stream_keepalive_seconds`) is such data, so the stream of a screen
    whose network vanished without closing ends within ~45 s, not the ~15 minutes Linux
    retransmits by default; its agent stops counting as seen, its place is given back. Keep it
    well above the worst stall of a live network (a mobile handover); 0: the kernel's default."""
    stream_keepalive_seconds: float = Field(default=15.0, gt=0, le=300)
    """How often an SSE stream with nothing to say sends a keep-alive comment (api/sse.py):
    proxies keep an idle stream open, and a vanished screen's connection has unacknowledged
    data for `tcp_user_timeout_seconds` to end. Below common proxy idle timeouts (60 s); tests
    lower it to wait less."""
    agent_stream_recheck_seconds: float = Field(default=5.0, gt=0, le=60)
    """How often an agent's open stream checks the agent still exists, with the same token."""
    offer_sweep_seconds: float = Field(default=5.0, ge=0, le=60)
    """How often the API lapses offers whose lapse timer was lost and offers what waits in
    auto services (api/usecases/offers.sweep); 0 turns the sweep off."""
    agent_presence_timeout_seconds: float = Field(default=90.0, ge=0, le=86_400)
    """An agent not offline whose screen the API has not seen for this long (no agent stream
    open, no agent request) is set offline, as by its own "Offline" (api/presence.py); 0 turns
    presence off. At least MIN_PRESENCE_TIMEOUT_SECONDS: a screen reconnecting after a network
    blip or an API restart must not lose its status."""
    max_temporal_calls_in_flight: int = Field(default=100, ge=1)
    """Temporal calls that wait on a worker (Updates, Queries) in flight in one API process;
    past it a request answers 503 `overloaded` at once (api/shedding.py, docs/limits.md)."""
    next_lease_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long `POST /agent/next` keeps other agents' `next` off the conversation it is
    picking up (store/next_lease.py): about as long as its pickup Update may take, which is the
    claim's local activity (`OMNI_TIMEOUT`, 10 s, in workflows/humano.py) at worst; it takes
    ~40 ms, ~2 s under a burst. A pickup slower than this degrades to the race without the lease
    (the claim still decides); a lease of an API process that died keeps the conversation from
    other agents' `next` (never from offers or a pickup by id) for at most this long."""
    overload_retry_after_seconds: int = Field(default=2, ge=1)
    """The `Retry-After` of a 503 `overloaded`."""
    unengaged_idle_seconds: int = Field(default=3600, ge=60)
    """A conversation whose customer sent only the first message ends after this silence."""
    workflow_sandbox: bool = False
    """Run conversations in the Temporal SDK's workflow sandbox (with our modules passed
    through). Off (`UnsandboxedWorkflowRunner`): ~17 % less CPU of the worker process per
    conversation (bench/README.md); the determinism guard is the same either way, the strict
    replay of recorded histories (workflows/sandbox.py)."""
    workflow_cache_size: int = Field(default=400, ge=1, le=100_000)
    """Conversations a worker process keeps in memory (the SDK's `max_cached_workflows`), each
    ~0.15–0.25 MiB. Only conversations mid-exchange need the cache: one waiting minutes for an
    agent or a timer is replayed (a history fetch and a few ms) when it wakes. Larger: fewer
    replays when more conversations than this exchange messages at once; but more memory, and
    longer full collections of the cyclic garbage collector, which stop the worker (under load,
    ~125 ms at 200, ~200 ms at 400, wall time: bench/README.md, "seventh pass"). At least 1:
    the SDK's 0 (no cache: every task a full replay) is for tests."""
    record_delay_seconds: float = Field(default=1.0, ge=0.01, le=60)
    """How long a conversation in the batching mode gathers a customer turn's messages before
    its workflow records them in the SQL log. Conversations whose messages the API writes ahead
    (every one started by a current API, from its first message) do not use it; the rest are
    those started by Signal (no worker answered in time) until their first answered message,
    runs after continue-as-new until theirs, and runs from before writing ahead
    (docs/architecture.md, "Written ahead"; docs/limits.md). Longer: fewer activities and
    timers per conversation at a fast pace, and their SQL status trails by up to this much."""
    channel_credential_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    """How long an API process trusts a connector credential it found live without asking SQL
    again; a revocation through another replica takes effect here within this bound (0: never
    cached). A revocation through this process takes effect at once."""
    agent_token_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    """How long an API process trusts an agent it found by bearer token without asking SQL
    again (store/token_cache.py); a deletion, token rotation or change of services through
    another replica (or a status set by the worker) is seen here within this bound (0: never
    cached). One through this process takes effect at once."""
    supervisor_timezone: str = "America/Sao_Paulo"
    """The operator's time zone: the supervisor's "today" and its half hours of staffing advice
    (a request may pass `tz`)."""
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    """The WhatsApp Cloud API (Graph API) base URL, version included (tests: a stand-in)."""
    telegram_api_base: str = "https://api.telegram.org"
    """The Telegram Bot API base URL (tests: a loopback stand-in)."""
    # --- observability (docs/observability.md) --------------------------------------------------
    metrics_token: str | None = None
    """Bearer token of `GET /metrics` besides the admin token (at least 32 characters), so a
    Prometheus server does not hold the admin token."""
    metrics_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    """How long the per-service queue figures of `/metrics` are reused between scrapes."""
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """The worker serves its Prometheus metrics (webhook deliveries) on this port; unset: off."""
    worker_metrics_host: str = "127.0.0.1"
    sdk_metrics_address: str | None = None
    """`host:port` where the worker's Temporal SDK serves its Prometheus metrics; unset: off."""
    access_log: bool = False
    """One log line per request (`transbordo.access`: method, route template, status, ms). Never
    the client's address, the raw path or its query (contact ids, a webhook's verify token):
    uvicorn's own access log, which has all three, is always off. Off by default: `/metrics`
    has the latency by route, and a reverse proxy keeps its own access log."""
    otel: bool = False
    """OpenTelemetry tracing across API → workflow → activities (needs the `otel` extra);
    spans go over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`."""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    @field_validator("supervisor_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {zone!r} (an IANA name such as UTC)") from error
        return zone

    @field_validator("agent_presence_timeout_seconds")
    @classmethod
    def _presence_timeout(cls, seconds: float) -> float:
        if 0 < seconds < MIN_PRESENCE_TIMEOUT_SECONDS:
            raise ValueError(
                f"agent_presence_timeout_seconds must be 0 (off) or at least"
                f" {MIN_PRESENCE_TIMEOUT_SECONDS:g}"
            )
        return seconds

    @field_validator("admin_token", "metrics_token")
    @classmethod
    def _long_token(cls, token: str | None, info: ValidationInfo) -> str | None:
        """A short token can be guessed; `up` generates a 43-character admin token."""
        if token is not None and len(token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(
                f"TRANSBORDO_{str(info.field_name).upper()} must have at least"
                f" {MIN_ADMIN_TOKEN_LENGTH} characters (it has {len(token)}); make one with"
                " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return token

    @field_validator("ui_origins")
    @classmethod
    def _no_wildcard_origin(cls, origins: list[str] | None) -> list[str] | None:
        """The codec endpoint answers with credentials: only named origins may read it."""
        if origins and any(origin.strip() == "*" for origin in origins):
            raise ValueError("ui_origins must name the Temporal UI's origins, not '*'")
        return origins

    def flow_limits(self) -> FlowLimits:
        """The operator's limits for bot files (bots/limits.py)."""
        return FlowLimits(
            max_blocks=self.flow_max_blocks,
            max_bytes=self.flow_max_bytes,
            env_allow=tuple(self.flow_env_allow),
        )

    @property
    def effective_database_url(self) -> str:
        """SQLite file under the data folder unless DATABASE_URL says otherwise."""
        return self.database_url or f"sqlite:///{self.data_dir / 'transbordo.db'}"

    @property
    def effective_ui_origins(self) -> list[str]:
        port = self.temporal_ui_port
        return self.ui_origins or [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    def attachment_limits(self) -> AttachmentLimits:
        return AttachmentLimits(self.attachment_max_bytes, tuple(self.attachment_types))

    def file_store(self, ring: KeyRing | None = None) -> FileStore:
        """Where attachments are kept (store/attachment_files.py); sealed with `ring` unless
        `attachment_encryption` is off."""
        secret = self.attachment_s3_secret_key
        return file_store(
            self.data_dir,
            ring=ring if self.attachment_encryption else None,
            bucket=self.attachment_s3_bucket,
            prefix=self.attachment_s3_prefix,
            endpoint_url=self.attachment_s3_endpoint,
            region=self.attachment_s3_region,
            access_key=self.attachment_s3_access_key,
            secret_key=secret.get_secret_value() if secret else None,
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()


def served_settings(app: object) -> Settings:
    """The settings of a served app (api/app.py's lifespan keeps them on `app.state`), so the
    HTTP protocol and the streams need no flag of their own; a bare app's: the defaults."""
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else _DEFAULTS


_DEFAULTS = Settings.model_construct()
"""Every field at its default, nothing read from the environment (a bench's bare uvicorn)."""


def setting_problem(error: Any) -> str:
    """A pydantic error of the settings as one line, named by its variable, without its value
    (pydantic's own text echoes it: a token)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    field = str(error["loc"][0]) if error["loc"] else ""
    variable = field if field.isupper() else f"TRANSBORDO_{field.upper()}"
    return message if variable in message else f"{variable}: {message}"
