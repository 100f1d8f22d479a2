"""SQL store of Omni: services, integrations (hashed API keys) and agents (hashed tokens).

Every function runs in one transaction and raises the errors of :mod:`omni.errors`; the API maps
them to HTTP. Clear keys and tokens never reach the database: only ``omni.keys.hash_key`` of them
and a short display prefix. Webhook secrets are stored as given, because the worker signs with them.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from omni import keys
from omni.errors import Conflict, InvalidReference, NotFound
from omni.models import (
    OPEN_QUEUE_STATUSES,
    AgentCreate,
    AgentCreated,
    AgentPublic,
    AgentStatus,
    AgentUpdate,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPublic,
    QueueNotifications,
    ResolvedIntegration,
    ServiceCreate,
    ServiceCreated,
    ServicePublic,
    ServiceUpdate,
    WebhookCreated,
    WebhookPublic,
    WebhookTarget,
)
from store.tables import (
    agent_services,
    agents,
    integrations,
    queue_entries,
    service_transfer_targets,
    services,
)

log = logging.getLogger(__name__)

SCALAR_SERVICE_FIELDS = (
    "name",
    "service_level_percent",
    "answer_time_seconds",
    "abandon_seconds",
    "voicemail_seconds",
    "extension",
    "agent_screen",
    "hidden",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# --- services ---------------------------------------------------------------------------------


def _service_ids(conn: Connection, names: Iterable[str], field: str) -> dict[str, str]:
    """Map service names to ids; InvalidReference naming ``field`` when one does not exist."""
    names = list(names)
    if not names:
        return {}
    rows = conn.execute(sa.select(services.c.id, services.c.name).where(services.c.name.in_(names)))
    found = {row.name: row.id for row in rows}
    missing = [name for name in names if name not in found]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise InvalidReference(field, f"no service named {listed}")
    return found


def _check_service_unique(
    conn: Connection, *, name: str | None, extension: str | None, exclude_id: str | None = None
) -> None:
    def taken(column: sa.Column, value: str) -> str | None:
        query = sa.select(services.c.name).where(column == value)
        if exclude_id is not None:
            query = query.where(services.c.id != exclude_id)
        return conn.execute(query).scalar_one_or_none()

    if name is not None and taken(services.c.name, name):
        raise Conflict(f"a service named {name!r} already exists", code="duplicate_service_name")
    if extension is not None and (owner := taken(services.c.extension, extension)):
        raise Conflict(
            f"extension {extension} is already used by service {owner!r}",
            code="duplicate_extension",
        )


def _services(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> list[ServicePublic]:
    query = sa.select(services).order_by(services.c.name)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    if not rows:
        return []
    target = services.alias("target")
    groups: dict[str, list[str]] = {}
    pairs = conn.execute(
        sa.select(service_transfer_targets.c.service_id, target.c.name)
        .join(target, target.c.id == service_transfer_targets.c.target_id)
        .where(service_transfer_targets.c.service_id.in_([row.id for row in rows]))
        .order_by(target.c.name)
    )
    for service_id, name in pairs:
        groups.setdefault(service_id, []).append(name)
    return [
        ServicePublic(
            id=row.id,
            name=row.name,
            service_level_percent=row.service_level_percent,
            answer_time_seconds=row.answer_time_seconds,
            abandon_seconds=row.abandon_seconds,
            voicemail_seconds=row.voicemail_seconds,
            extension=row.extension,
            agent_screen=row.agent_screen,
            transfer_group=groups.get(row.id, []),
            webhook=WebhookPublic(
                enabled=row.webhook_enabled,
                url=row.webhook_url,
                has_secret=row.webhook_secret is not None,
            ),
            hidden=row.hidden,
            queue_notifications=QueueNotifications.model_validate(row.queue_notifications),
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
        )
        for row in rows
    ]


def _service(conn: Connection, service_id: str) -> ServicePublic:
    found = _services(conn, services.c.id == service_id)
    if not found:
        raise NotFound(f"no service {service_id!r}")
    return found[0]


def _set_transfer_group(conn: Connection, service_id: str, target_ids: Iterable[str]) -> None:
    conn.execute(
        sa.delete(service_transfer_targets).where(
            service_transfer_targets.c.service_id == service_id
        )
    )
    rows = [{"service_id": service_id, "target_id": target} for target in target_ids]
    if rows:
        conn.execute(sa.insert(service_transfer_targets), rows)


def _created(public: ServicePublic, generated_secret: str | None) -> ServiceCreated:
    webhook = WebhookCreated(**public.webhook.model_dump(), secret=generated_secret)
    return ServiceCreated(**{**public.model_dump(), "webhook": webhook})


def create_service(engine: Engine, body: ServiceCreate) -> ServiceCreated:
    """Create a service ("Novo Serviço"); a generated webhook secret is returned this once."""
    service_id = _new_id("svc")
    secret = body.webhook.secret
    generated = None
    if secret is None and body.webhook.url is not None:
        secret = generated = keys.new_webhook_secret()
    now = _now()
    try:
        with engine.begin() as conn:
            _check_service_unique(conn, name=body.name, extension=body.extension)
            if body.name in body.transfer_group:
                raise InvalidReference("transfer_group", "a service may not list itself")
            targets = _service_ids(conn, body.transfer_group, "transfer_group")
            conn.execute(
                sa.insert(services).values(
                    id=service_id,
                    **{field: getattr(body, field) for field in SCALAR_SERVICE_FIELDS},
                    webhook_enabled=body.webhook.enabled,
                    webhook_url=body.webhook.url,
                    webhook_secret=secret,
                    queue_notifications=body.queue_notifications.model_dump(mode="json"),
                    created_at=now,
                    updated_at=now,
                )
            )
            _set_transfer_group(conn, service_id, targets.values())
            public = _service(conn, service_id)
    except IntegrityError:
        raise Conflict(
            "a service with this name or extension already exists", code="duplicate_service"
        ) from None
    log.info("service created: %s (%s)", public.name, public.id)
    return _created(public, generated)


def list_services(engine: Engine) -> list[ServicePublic]:
    with engine.connect() as conn:
        return _services(conn)


def get_service(engine: Engine, service_id: str) -> ServicePublic:
    with engine.connect() as conn:
        return _service(conn, service_id)


def find_service(
    engine: Engine, *, name: str | None = None, extension: str | None = None
) -> ServicePublic | None:
    """The service with this name or this extension ("Ramal"), if any (for transfers)."""
    if (name is None) == (extension is None):
        raise ValueError("find_service takes exactly one of name or extension")
    column = services.c.name if name is not None else services.c.extension
    with engine.connect() as conn:
        found = _services(conn, column == (name if name is not None else extension))
    return found[0] if found else None


def webhook_target(engine: Engine, service_id: str) -> WebhookTarget | None:
    """Where and how to deliver the service's events, or None when its webhook is off."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                services.c.webhook_enabled, services.c.webhook_url, services.c.webhook_secret
            ).where(services.c.id == service_id)
        ).one_or_none()
    if row is None or not row.webhook_enabled or not row.webhook_url or not row.webhook_secret:
        return None
    return WebhookTarget(service_id=service_id, url=row.webhook_url, secret=row.webhook_secret)


def update_service(engine: Engine, service_id: str, body: ServiceUpdate) -> ServiceCreated:
    """Change the fields sent; a webhook secret generated by this change is returned this once."""
    changes = body.model_dump(exclude_unset=True)
    generated = None
    try:
        with engine.begin() as conn:
            row = conn.execute(sa.select(services).where(services.c.id == service_id)).one_or_none()
            if row is None:
                raise NotFound(f"no service {service_id!r}")
            name = changes.get("name", row.name)
            _check_service_unique(
                conn,
                name=changes.get("name"),
                extension=changes.get("extension"),
                exclude_id=service_id,
            )
            values: dict[str, object] = {
                field: changes[field] for field in SCALAR_SERVICE_FIELDS if field in changes
            }
            if body.webhook is not None:
                secret = body.webhook.secret or row.webhook_secret
                if secret is None and body.webhook.url is not None:
                    secret = generated = keys.new_webhook_secret()
                values.update(
                    webhook_enabled=body.webhook.enabled,
                    webhook_url=body.webhook.url,
                    webhook_secret=secret,
                )
            if body.queue_notifications is not None:
                values["queue_notifications"] = body.queue_notifications.model_dump(mode="json")
            if body.transfer_group is not None:
                if name in body.transfer_group:
                    raise InvalidReference("transfer_group", "a service may not list itself")
                targets = _service_ids(conn, body.transfer_group, "transfer_group")
                _set_transfer_group(conn, service_id, targets.values())
            values["updated_at"] = _now()
            conn.execute(sa.update(services).where(services.c.id == service_id).values(**values))
            public = _service(conn, service_id)
    except IntegrityError:
        raise Conflict(
            "a service with this name or extension already exists", code="duplicate_service"
        ) from None
    return _created(public, generated)


def delete_service(engine: Engine, service_id: str) -> None:
    """Delete a service without waiting or in-service conversations.

    It leaves every transfer group naming it, its agents keep their other services, and its
    integrations are revoked (their keys stop working). Finished queue entries stay, detached.
    """
    with engine.begin() as conn:
        lock = sa.select(services.c.name).where(services.c.id == service_id)
        if _is_postgres(conn):
            lock = lock.with_for_update()
        name = conn.execute(lock).scalar_one_or_none()
        if name is None:
            raise NotFound(f"no service {service_id!r}")
        counts = conn.execute(
            sa.select(queue_entries.c.status, sa.func.count())
            .where(
                queue_entries.c.service_id == service_id,
                queue_entries.c.status.in_(OPEN_QUEUE_STATUSES),
            )
            .group_by(queue_entries.c.status)
        )
        open_entries = Counter({status: count for status, count in counts})
        if open_entries:
            raise Conflict(
                f"service {name!r} has {open_entries['waiting']} waiting and "
                f"{open_entries['in_service']} in-service conversation(s); "
                "finish or transfer them before deleting it",
                code="service_busy",
            )
        now = _now()
        conn.execute(
            sa.update(integrations)
            .where(integrations.c.service_id == service_id, integrations.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        conn.execute(
            sa.update(integrations)
            .where(integrations.c.service_id == service_id)
            .values(service_id=None)
        )
        conn.execute(
            sa.update(queue_entries)
            .where(queue_entries.c.service_id == service_id)
            .values(service_id=None)
        )
        conn.execute(
            sa.delete(service_transfer_targets).where(
                sa.or_(
                    service_transfer_targets.c.service_id == service_id,
                    service_transfer_targets.c.target_id == service_id,
                )
            )
        )
        conn.execute(sa.delete(agent_services).where(agent_services.c.service_id == service_id))
        conn.execute(sa.delete(services).where(services.c.id == service_id))
    log.info("service deleted: %s (%s)", name, service_id)


# --- integrations -----------------------------------------------------------------------------


def _integrations(
    conn: Connection, where: sa.ColumnElement[bool] | None = None
) -> list[IntegrationPublic]:
    query = (
        sa.select(integrations, services.c.name.label("service_name"))
        .select_from(integrations.outerjoin(services, services.c.id == integrations.c.service_id))
        .order_by(integrations.c.created_at, integrations.c.id)
    )
    if where is not None:
        query = query.where(where)
    return [
        IntegrationPublic(
            id=row.id,
            bot=row.bot,
            service=row.service_name,
            service_id=row.service_id,
            key_prefix=row.key_prefix,
            created_at=_utc(row.created_at),
            rotated_at=_utc(row.rotated_at),
            revoked_at=_utc(row.revoked_at),
        )
        for row in conn.execute(query)
    ]


def _integration(conn: Connection, integration_id: str) -> IntegrationPublic:
    found = _integrations(conn, integrations.c.id == integration_id)
    if not found:
        raise NotFound(f"no integration {integration_id!r}")
    return found[0]


def create_integration(engine: Engine, body: IntegrationCreate) -> IntegrationCreated:
    """Bind a bot name to a service with a fresh API key, returned this once."""
    key = keys.new_api_key()
    integration_id = _new_id("int")
    try:
        public = _insert_integration(engine, body, integration_id, key)
    except IntegrityError:
        raise Conflict(
            f"bot {body.bot!r} already has a live integration with service {body.service!r}",
            code="duplicate_integration",
        ) from None
    log.info("integration created: bot %s, service %s (%s)", body.bot, body.service, public.id)
    return IntegrationCreated(**public.model_dump(), api_key=key)


def _insert_integration(
    engine: Engine, body: IntegrationCreate, integration_id: str, key: str
) -> IntegrationPublic:
    with engine.begin() as conn:
        service_id = _service_ids(conn, [body.service], "service")[body.service]
        live = conn.execute(
            sa.select(integrations.c.id).where(
                integrations.c.bot == body.bot,
                integrations.c.service_id == service_id,
                integrations.c.revoked_at.is_(None),
            )
        ).scalar_one_or_none()
        if live is not None:
            raise Conflict(
                f"bot {body.bot!r} already has a live integration with service "
                f"{body.service!r} ({live}); rotate its key instead",
                code="duplicate_integration",
            )
        conn.execute(
            sa.insert(integrations).values(
                id=integration_id,
                bot=body.bot,
                service_id=service_id,
                key_hash=keys.hash_key(key),
                key_prefix=keys.display_prefix(key),
                created_at=_now(),
            )
        )
        return _integration(conn, integration_id)


def list_integrations(engine: Engine, *, include_revoked: bool = False) -> list[IntegrationPublic]:
    """The integrations, masked (display prefix only); live ones unless asked otherwise."""
    with engine.connect() as conn:
        where = None if include_revoked else integrations.c.revoked_at.is_(None)
        return _integrations(conn, where)


def get_integration(engine: Engine, integration_id: str) -> IntegrationPublic:
    with engine.connect() as conn:
        return _integration(conn, integration_id)


def revoke_integration(engine: Engine, integration_id: str) -> IntegrationPublic:
    """Revoke at once (idempotent); the row stays with ``revoked_at``."""
    with engine.begin() as conn:
        _integration(conn, integration_id)
        conn.execute(
            sa.update(integrations)
            .where(integrations.c.id == integration_id, integrations.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        public = _integration(conn, integration_id)
    log.info("integration revoked: %s", integration_id)
    return public


def rotate_integration(engine: Engine, integration_id: str) -> IntegrationCreated:
    """Replace the key of a live integration; the old key is dead when this returns."""
    key = keys.new_api_key()
    with engine.begin() as conn:
        current = _integration(conn, integration_id)
        if current.revoked_at is not None:
            raise Conflict(
                f"integration {integration_id!r} is revoked; create a new one",
                code="integration_revoked",
            )
        conn.execute(
            sa.update(integrations)
            .where(integrations.c.id == integration_id)
            .values(
                key_hash=keys.hash_key(key),
                key_prefix=keys.display_prefix(key),
                rotated_at=_now(),
            )
        )
        public = _integration(conn, integration_id)
    log.info("integration key rotated: %s", integration_id)
    return IntegrationCreated(**public.model_dump(), api_key=key)


def _live_key(conn: Connection, key_hash: str) -> sa.Row | None:
    """The integration row whose key hashes to ``key_hash``, compared in constant time."""
    row = conn.execute(
        sa.select(integrations).where(integrations.c.key_hash == key_hash)
    ).one_or_none()
    if row is None or not secrets.compare_digest(row.key_hash.encode(), key_hash.encode()):
        return None
    return row


def resolve_integration(
    engine: Engine, bot: str, key_hash: str, service: str | None
) -> ResolvedIntegration | None:
    """The Humano block's step 1: the key proves the bot; pick the service to queue in.

    ``key_hash`` is ``omni.keys.hash_key(omni_key)``. ``service`` (a name) may be any service
    the bot has a live integration with; None means the key's own service. None is returned when
    the key is unknown, revoked or another bot's, its service is deleted, or the bot has no live
    integration with ``service``.
    """
    with engine.connect() as conn:
        row = _live_key(conn, key_hash)
        if row is None or row.revoked_at is not None or row.bot != bot or row.service_id is None:
            return None
        if service is None:
            integration_id, service_id = row.id, row.service_id
        else:
            target = conn.execute(
                sa.select(integrations.c.id, integrations.c.service_id)
                .join(services, services.c.id == integrations.c.service_id)
                .where(
                    integrations.c.bot == bot,
                    integrations.c.revoked_at.is_(None),
                    services.c.name == service,
                )
                .order_by(integrations.c.created_at)
                .limit(1)
            ).one_or_none()
            if target is None:
                return None
            integration_id, service_id = target.id, target.service_id
        found = _services(conn, services.c.id == service_id)
    if not found:
        return None
    return ResolvedIntegration(
        integration_id=integration_id, key_integration_id=row.id, bot=bot, service=found[0]
    )


def key_warning(engine: Engine, bot: str, key: str | None) -> str | None:
    """A warning for publishing ``bot`` with ``key`` as its omni_key; None when the key is live.

    Call it for bots with ``human_service``; ``key`` is the resolved omni_key (None when it is
    empty or its ``${VAR}`` is unset). The warning never repeats the key.
    """
    fix = "create one under Integrações → Digital Contact Bots → Criar novo and copy its API key"
    if not key:
        return f"bot {bot!r} has no Omni key: its Humano blocks will end 'unavailable'"
    with engine.connect() as conn:
        row = _live_key(conn, keys.hash_key(key))
    if row is None:
        return f"the omni_key of bot {bot!r} matches no Omni integration; {fix}"
    if row.bot != bot:
        return f"the omni_key of bot {bot!r} belongs to an integration of another bot; {fix}"
    if row.revoked_at is not None or row.service_id is None:
        return f"the omni_key of bot {bot!r} was revoked (or its service deleted); {fix}"
    return None


# --- agents -----------------------------------------------------------------------------------


def _agents(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> list[AgentPublic]:
    query = sa.select(agents).order_by(agents.c.name)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    if not rows:
        return []
    served: dict[str, list[str]] = {}
    pairs = conn.execute(
        sa.select(agent_services.c.agent_id, services.c.name)
        .join(services, services.c.id == agent_services.c.service_id)
        .where(agent_services.c.agent_id.in_([row.id for row in rows]))
        .order_by(services.c.name)
    )
    for agent_id, name in pairs:
        served.setdefault(agent_id, []).append(name)
    return [
        AgentPublic(
            id=row.id,
            name=row.name,
            services=served.get(row.id, []),
            capacity=row.capacity,
            status=row.status,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
        )
        for row in rows
    ]


def _agent(conn: Connection, agent_id: str) -> AgentPublic:
    found = _agents(conn, agents.c.id == agent_id)
    if not found:
        raise NotFound(f"no agent {agent_id!r}")
    return found[0]


def _check_agent_name(conn: Connection, name: str, exclude_id: str | None = None) -> None:
    query = sa.select(agents.c.id).where(agents.c.name == name)
    if exclude_id is not None:
        query = query.where(agents.c.id != exclude_id)
    if conn.execute(query).first() is not None:
        raise Conflict(f"an agent named {name!r} already exists", code="duplicate_agent_name")


def _set_agent_services(conn: Connection, agent_id: str, service_ids: Iterable[str]) -> None:
    conn.execute(sa.delete(agent_services).where(agent_services.c.agent_id == agent_id))
    rows = [{"agent_id": agent_id, "service_id": service_id} for service_id in service_ids]
    if rows:
        conn.execute(sa.insert(agent_services), rows)


def create_agent(engine: Engine, body: AgentCreate) -> AgentCreated:
    """Create an agent (offline) with a fresh bearer token, returned this once."""
    token = keys.new_agent_token()
    agent_id = _new_id("agt")
    now = _now()
    try:
        with engine.begin() as conn:
            _check_agent_name(conn, body.name)
            service_ids = _service_ids(conn, body.services, "services")
            conn.execute(
                sa.insert(agents).values(
                    id=agent_id,
                    name=body.name,
                    capacity=body.capacity,
                    status="offline",
                    token_hash=keys.hash_key(token),
                    status_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            _set_agent_services(conn, agent_id, service_ids.values())
            public = _agent(conn, agent_id)
    except IntegrityError:
        raise Conflict(
            f"an agent named {body.name!r} already exists", code="duplicate_agent_name"
        ) from None
    log.info("agent created: %s (%s)", public.name, public.id)
    return AgentCreated(**public.model_dump(), token=token)


def list_agents(engine: Engine) -> list[AgentPublic]:
    with engine.connect() as conn:
        return _agents(conn)


def get_agent(engine: Engine, agent_id: str) -> AgentPublic:
    with engine.connect() as conn:
        return _agent(conn, agent_id)


def update_agent(engine: Engine, agent_id: str, body: AgentUpdate) -> AgentPublic:
    """Change the fields sent; ``services`` replaces the list."""
    changes = body.model_dump(exclude_unset=True)
    now = _now()
    try:
        with engine.begin() as conn:
            current = _agent(conn, agent_id)
            if "name" in changes:
                _check_agent_name(conn, changes["name"], exclude_id=agent_id)
            if body.services is not None:
                service_ids = _service_ids(conn, body.services, "services")
                _set_agent_services(conn, agent_id, service_ids.values())
            values = {key: changes[key] for key in ("name", "capacity", "status") if key in changes}
            if "status" in values and values["status"] != current.status:
                values["status_changed_at"] = now
            values["updated_at"] = now
            conn.execute(sa.update(agents).where(agents.c.id == agent_id).values(**values))
            return _agent(conn, agent_id)
    except IntegrityError:
        raise Conflict(
            "an agent with this name already exists", code="duplicate_agent_name"
        ) from None


def set_agent_status(engine: Engine, agent_id: str, status: AgentStatus) -> AgentPublic:
    """The agent's own ``available | paused | offline`` switch."""
    return update_agent(engine, agent_id, AgentUpdate(status=status))


def rotate_agent_token(engine: Engine, agent_id: str) -> AgentCreated:
    """Give the agent a new token (returned this once); the old one stops working."""
    token = keys.new_agent_token()
    with engine.begin() as conn:
        _agent(conn, agent_id)
        conn.execute(
            sa.update(agents)
            .where(agents.c.id == agent_id)
            .values(token_hash=keys.hash_key(token), updated_at=_now())
        )
        public = _agent(conn, agent_id)
    log.info("agent token rotated: %s", agent_id)
    return AgentCreated(**public.model_dump(), token=token)


def delete_agent(engine: Engine, agent_id: str) -> None:
    """Delete an agent who holds no conversation in service; its history stays, detached."""
    with engine.begin() as conn:
        current = _agent(conn, agent_id)
        busy = conn.execute(
            sa.select(sa.func.count()).where(
                queue_entries.c.agent_id == agent_id, queue_entries.c.status == "in_service"
            )
        ).scalar_one()
        if busy:
            raise Conflict(
                f"agent {current.name!r} has {busy} conversation(s) in service; "
                "finish or transfer them before deleting the agent",
                code="agent_busy",
            )
        conn.execute(
            sa.update(queue_entries)
            .where(queue_entries.c.agent_id == agent_id)
            .values(agent_id=None)
        )
        conn.execute(sa.delete(agent_services).where(agent_services.c.agent_id == agent_id))
        conn.execute(sa.delete(agents).where(agents.c.id == agent_id))
    log.info("agent deleted: %s (%s)", current.name, agent_id)


def agent_by_token(engine: Engine, token: str) -> AgentPublic | None:
    """The agent whose bearer token this is (hash lookup + constant-time compare), or None."""
    token_hash = keys.hash_key(token)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(agents.c.id, agents.c.token_hash).where(agents.c.token_hash == token_hash)
        ).one_or_none()
        if row is None or not secrets.compare_digest(row.token_hash.encode(), token_hash.encode()):
            return None
        return _agent(conn, row.id)
