"""Omni services in SQL ("Novo Serviço"): their settings, transfer groups and webhooks.

Every function runs in one transaction and raises the errors of :mod:`omni.errors`; the API maps
them to HTTP. Webhook secrets are kept encrypted with the key ring (`encryption.codec`), since
the worker signs with them and so needs them back; a generated one is returned once, by the
request that made it. The ring is passed in by the caller that owns it (the API app, the
worker), not read from settings here: the store knows SQL, not where keys come from. Secrets
stored in clear before encryption still read (and are encrypted at their next change).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from encryption.codec import KeyRing, decrypt_text, encrypt_text
from omni import keys
from omni.desk import WrapUpSettings
from omni.errors import Conflict, InvalidReference, NotFound
from omni.models import (
    QueueNotifications,
    ServiceCreate,
    ServiceCreated,
    ServicePublic,
    ServiceUpdate,
    WebhookCreated,
    WebhookPublic,
    WebhookTarget,
)
from omni.names import canonical
from omni.routing_models import ROUTING_FIELDS
from omni.service_care import CarriedCare, ServiceCare
from store.common import is_postgres, new_id, now
from store.db import reads
from store.name_keys import (
    as_stored,
    check_revision,
    ids_by_name,
    key_on_update,
    raced,
    refuse_same_name,
    write_revision,
)
from store.service_names import bots_naming, in_use
from store.service_names import service_ids as service_ids  # the other stores' (moved)
from store.service_removal import detach, refuse_open_entries
from store.tables import (
    service_transfer_targets,
    services,
)
from store.token_cache import AGENTS as AGENT_TOKENS

logger = logging.getLogger(__name__)

SCALAR_SERVICE_FIELDS = (
    "name",
    "service_level_percent",
    "answer_time_seconds",
    "abandon_seconds",
    "voicemail_seconds",
    "extension",
    "agent_screen",
    "hidden",
    *ROUTING_FIELDS,
)


def select_services(
    conn: Connection, where: sa.ColumnElement[bool] | None = None
) -> list[ServicePublic]:
    """The services matching ``where`` (all when None), by name, with their transfer groups."""
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
            **{field: getattr(row, field) for field in ROUTING_FIELDS},
            queue_notifications=QueueNotifications.model_validate(row.queue_notifications),
            care=ServiceCare.model_validate(row.care or {}),
            wrapup=WrapUpSettings.model_validate(row.wrapup or {}),
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


SERVICE = "service"
DUPLICATE_NAME = "duplicate_service_name"


def _check_extension(conn: Connection, extension: str | None, exclude_id: str | None) -> None:
    if extension is None:
        return
    query = sa.select(services.c.name).where(services.c.extension == extension)
    if exclude_id is not None:
        query = query.where(services.c.id != exclude_id)
    if owner := conn.execute(query).scalar_one_or_none():
        raise Conflict(
            f"extension {extension} is already used by service {owner!r}",
            code="duplicate_extension",
        )


def _service(conn: Connection, service_id: str) -> ServicePublic:
    found = select_services(conn, services.c.id == service_id)
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


def create_service(engine: Engine, body: ServiceCreate, ring: KeyRing) -> ServiceCreated:
    """Create a service ("Novo Serviço"); a generated webhook secret is returned this once."""
    service_id = new_id("svc")
    secret = body.webhook.secret
    generated = None
    if secret is None and body.webhook.url is not None:
        secret = generated = keys.new_webhook_secret()
    created_at = now()
    try:
        with engine.begin() as conn:
            key = refuse_same_name(conn, services, body.name, what=SERVICE, code=DUPLICATE_NAME)
            _check_extension(conn, body.extension, None)
            if body.name in body.transfer_group:
                raise InvalidReference("transfer_group", "a service may not list itself")
            targets = service_ids(conn, body.transfer_group, "transfer_group")
            conn.execute(
                sa.insert(services).values(
                    id=service_id,
                    name_key=key,
                    **{field: getattr(body, field) for field in SCALAR_SERVICE_FIELDS},
                    webhook_enabled=body.webhook.enabled,
                    webhook_url=body.webhook.url,
                    webhook_secret=_sealed(ring, secret),
                    queue_notifications=body.queue_notifications.model_dump(mode="json"),
                    care=body.care.model_dump(mode="json"),
                    wrapup=body.wrapup.model_dump(mode="json"),
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
            _set_transfer_group(conn, service_id, targets.values())
            public = _service(conn, service_id)
    except IntegrityError:
        raise _raced(engine, body.name) from None
    logger.info("service created: %s (%s)", public.name, public.id)
    return _created(public, generated)


def list_services(engine: Engine) -> list[ServicePublic]:
    with reads(engine) as conn:
        return select_services(conn)


def get_service(engine: Engine, service_id: str) -> ServicePublic:
    with reads(engine) as conn:
        return _service(conn, service_id)


def find_service(
    engine: Engine, *, name: str | None = None, extension: str | None = None
) -> ServicePublic | None:
    """The service with this name (in any case, accents or spacing: `ids_by_name`) or this
    extension ("Ramal"), if any (for transfers)."""
    if (name is None) == (extension is None):
        raise ValueError("find_service takes exactly one of name or extension")
    with reads(engine) as conn:
        if name is None:
            found = select_services(conn, services.c.extension == extension)
        elif (service_id := ids_by_name(conn, services, [name]).get(name)) is not None:
            found = select_services(conn, services.c.id == service_id)
        else:
            found = []
    return found[0] if found else None


def webhook_target(engine: Engine, service_id: str, ring: KeyRing) -> WebhookTarget | None:
    """Where and how to deliver the service's events, or None when its webhook is off."""
    with reads(engine) as conn:
        row = conn.execute(
            sa.select(
                services.c.webhook_enabled, services.c.webhook_url, services.c.webhook_secret
            ).where(services.c.id == service_id)
        ).one_or_none()
    if row is None or not row.webhook_enabled or not row.webhook_url or not row.webhook_secret:
        return None
    secret = decrypt_text(ring, row.webhook_secret)
    return WebhookTarget(service_id=service_id, url=row.webhook_url, secret=secret)


def wrapup_settings(engine: Engine, service_id: str) -> WrapUpSettings | None:
    """The service's wrap-up settings now (None: no such service), for an agent's finish and
    the list the agent's screen shows: one column, not the whole service."""
    with reads(engine) as conn:
        row = conn.execute(
            sa.select(services.c.wrapup).where(services.c.id == service_id)
        ).one_or_none()
    return None if row is None else WrapUpSettings.model_validate(row.wrapup or {})


def care_settings(engine: Engine, service_id: str) -> CarriedCare | None:
    """The service's care settings now (None: no such service), as a pickup carries them
    (`PickupRequest.care`): one column, not the whole service."""
    with reads(engine) as conn:
        row = conn.execute(
            sa.select(services.c.care).where(services.c.id == service_id)
        ).one_or_none()
    return None if row is None else CarriedCare.model_validate(row.care or {})


def _sealed(ring: KeyRing, secret: str | None) -> str | None:
    """A webhook secret as SQL keeps it: encrypted with the ring's active key."""
    return None if secret is None else encrypt_text(ring, secret)


def _resealed(ring: KeyRing, stored: str | None) -> str | None:
    """A kept secret: one stored in clear before encryption is encrypted now."""
    return _sealed(ring, decrypt_text(ring, stored)) if stored is not None else None


def update_service(
    engine: Engine,
    service_id: str,
    body: ServiceUpdate,
    ring: KeyRing,
    *,
    expected: Collection[int] | None = None,
    force_rename: bool = False,
) -> ServiceCreated:
    """Change the fields sent; a webhook secret generated by this change is returned this once.

    `expected`: the revisions an `If-Match` accepts (Stale otherwise; None: no check). A rename
    is refused (`service_in_use`) while the newest version of a bot names the service in a
    Humano block, unless `force_rename`: then those bots are in `bots_to_update`."""
    try:
        with engine.begin() as conn:
            row = conn.execute(sa.select(services).where(services.c.id == service_id)).one_or_none()
            if row is None:
                raise NotFound(f"no service {service_id!r}")
            generated, bots = _update(conn, row, body, ring, expected, force_rename)
            public = _service(conn, service_id)
    except IntegrityError:
        raise _raced(engine, body.name) from None
    AGENT_TOKENS.forget_all()  # agents name their services: a renamed one (store/token_cache.py)
    if bots:
        logger.warning("service %r renamed %r; bots to update: %s", row.name, public.name, bots)
    return _created(public, generated).model_copy(update={"bots_to_update": bots})


def _update(
    conn: Connection,
    row: sa.Row[Any],
    body: ServiceUpdate,
    ring: KeyRing,
    expected: Collection[int] | None,
    force_rename: bool,
) -> tuple[str | None, list[str]]:
    what = f"service {row.name!r}"
    check_revision(row.revision, expected, what)  # a stale edit is told so before anything else
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:  # the same name sent back (a whole form) is no rename
        changes["name"] = as_stored(changes["name"], row.name)
    name = changes.get("name", row.name)
    key = key_on_update(conn, services, row, name, what=SERVICE, code=DUPLICATE_NAME)
    bots = bots_naming(conn, row.id, row.name) if name != row.name else []
    if bots and not force_rename:
        raise in_use(row.name, bots, change="rename", instead="with the new name")
    _check_extension(conn, changes.get("extension"), row.id)
    values, generated = _changed_values(row, body, changes, ring)
    if body.transfer_group is not None:
        itself = canonical(name) in body.transfer_group
        targets = {} if itself else service_ids(conn, body.transfer_group, "transfer_group")
        if itself or row.id in targets.values():
            raise InvalidReference("transfer_group", "a service may not list itself")
        _set_transfer_group(conn, row.id, targets.values())
    values.update(name_key=key, updated_at=now())
    write_revision(conn, services, row, values, expected=expected, what=what)
    return generated, bots


def _changed_values(
    row: sa.Row[Any], body: ServiceUpdate, changes: dict[str, Any], ring: KeyRing
) -> tuple[dict[str, object], str | None]:
    """The columns the change sets, and a webhook secret it generated (shown once)."""
    values: dict[str, object] = {
        field: changes[field] for field in SCALAR_SERVICE_FIELDS if field in changes
    }
    generated = None
    if body.webhook is not None:
        given = _sealed(ring, body.webhook.secret or None)
        stored = given or _resealed(ring, row.webhook_secret)
        if stored is None and body.webhook.url is not None:
            generated = keys.new_webhook_secret()
            stored = _sealed(ring, generated)
        values.update(
            webhook_enabled=body.webhook.enabled,
            webhook_url=body.webhook.url,
            webhook_secret=stored,
        )
    for part in ("queue_notifications", "care", "wrapup"):
        if (settings := getattr(body, part)) is not None:
            values[part] = settings.model_dump(mode="json")
    return values, generated


def _raced(engine: Engine, name: str | None) -> Conflict:
    """A write the unique indexes refused: a concurrent one took the name or extension."""
    if name is not None:
        found = raced(engine, services, name, SERVICE, DUPLICATE_NAME)
        if found.extra:
            return found
    return Conflict(
        "a service with this name or extension already exists", code="duplicate_service"
    )


def delete_service(engine: Engine, service_id: str, *, force: bool = False) -> None:
    """Delete a service without waiting or in-service conversations.

    It leaves every transfer group naming it, its agents keep their other services, and its
    integrations are revoked (their keys stop working). Finished queue entries stay, detached.
    Refused (`service_in_use`) while the newest version of a bot names it in a Humano block,
    unless `force`: those handoffs end `unavailable` from then on (logged with the bots).
    """
    with engine.begin() as conn:
        lock = sa.select(services.c.name).where(services.c.id == service_id)
        if is_postgres(conn):
            lock = lock.with_for_update()
        name = conn.execute(lock).scalar_one_or_none()
        if name is None:
            raise NotFound(f"no service {service_id!r}")
        refuse_open_entries(conn, service_id, name)
        if (bots := bots_naming(conn, service_id, name)) and not force:
            raise in_use(name, bots, change="delete it", instead="with another service")
        detach(conn, service_id)
        conn.execute(sa.delete(services).where(services.c.id == service_id))
    AGENT_TOKENS.forget_all()  # it left its agents' services (store/token_cache.py)
    if bots:
        logger.warning("service %r deleted (%s); bots to update: %s", name, service_id, bots)
    else:
        logger.info("service deleted: %s (%s)", name, service_id)
