"""Omni integrations in SQL: a bot bound to a service by an API key, stored hashed.

Clear keys never reach the database: only ``omni.keys.hash_key`` of them and a short display
prefix. The Humano block resolves a key (by its hash) to the service to queue in.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from omni import keys
from omni.errors import Conflict, NotFound
from omni.models import (
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPublic,
    ResolvedIntegration,
)
from store.common import new_id, now
from store.db import reads
from store.name_keys import ids_by_name
from store.service_names import service_ids
from store.services import select_services
from store.tables import integrations, services

logger = logging.getLogger(__name__)

NEW_KEY_HINT = (
    "create one under Integrações → Digital Contact Bots → Criar novo and copy its API key"
)


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
            created_at=row.created_at,
            rotated_at=row.rotated_at,
            revoked_at=row.revoked_at,
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
    integration_id = new_id("int")
    try:
        public = _insert_integration(engine, body, integration_id, key)
    except IntegrityError:
        raise Conflict(
            f"bot {body.bot!r} already has a live integration with service {body.service!r}",
            code="duplicate_integration",
        ) from None
    logger.info("integration created: bot %s, service %s (%s)", body.bot, body.service, public.id)
    return IntegrationCreated(**public.model_dump(), api_key=key)


def _insert_integration(
    engine: Engine, body: IntegrationCreate, integration_id: str, key: str
) -> IntegrationPublic:
    with engine.begin() as conn:
        service_id = service_ids(conn, [body.service], "service")[body.service]
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
                created_at=now(),
            )
        )
        return _integration(conn, integration_id)


def list_integrations(engine: Engine, *, include_revoked: bool = False) -> list[IntegrationPublic]:
    """The integrations, masked (display prefix only); live ones unless asked otherwise."""
    with reads(engine) as conn:
        where = None if include_revoked else integrations.c.revoked_at.is_(None)
        return _integrations(conn, where)


def get_integration(engine: Engine, integration_id: str) -> IntegrationPublic:
    with reads(engine) as conn:
        return _integration(conn, integration_id)


def revoke_integration(engine: Engine, integration_id: str) -> IntegrationPublic:
    """Revoke at once (idempotent); the row stays with ``revoked_at``."""
    with engine.begin() as conn:
        _integration(conn, integration_id)
        conn.execute(
            sa.update(integrations)
            .where(integrations.c.id == integration_id, integrations.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        public = _integration(conn, integration_id)
    logger.info("integration revoked: %s", integration_id)
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
                rotated_at=now(),
            )
        )
        public = _integration(conn, integration_id)
    logger.info("integration key rotated: %s", integration_id)
    return IntegrationCreated(**public.model_dump(), api_key=key)


_BY_KEY = sa.select(integrations).where(integrations.c.key_hash == sa.bindparam("key_hash"))


def _live_key(conn: Connection, key_hash: str) -> sa.Row[Any] | None:
    """The integration row whose key hashes to ``key_hash``, compared in constant time
    (internal: no row leaves the store)."""
    row = conn.execute(_BY_KEY, {"key_hash": key_hash}).one_or_none()
    if row is None or not secrets.compare_digest(row.key_hash.encode(), key_hash.encode()):
        return None
    return row


def resolve_integration(
    engine: Engine, bot: str, key_hash: str, service: str | None
) -> ResolvedIntegration | None:
    """The Humano block's step 1: the key proves the bot; pick the service to queue in.

    ``key_hash`` is ``omni.keys.hash_key(omni_key)``. ``service`` (a name, found by its exact
    bytes first, then in any case, accents or spacing: store/name_keys.py `ids_by_name`) may be
    any service the bot has a live integration with; None means the key's own service. None is
    returned when the key is unknown, revoked or another bot's, its service is deleted, or the
    bot has no live integration with ``service``.
    """
    with reads(engine) as conn:
        live = live_service(conn, bot, key_hash, service)
        if live is None:
            return None
        key_integration_id, integration_id, service_id = live
        found = select_services(conn, services.c.id == service_id)
    if not found:
        return None
    return ResolvedIntegration(
        integration_id=integration_id,
        key_integration_id=key_integration_id,
        bot=bot,
        service=found[0],
    )


_BY_SERVICE_NAME = (
    sa.select(integrations.c.id, integrations.c.service_id)
    .join(services, services.c.id == integrations.c.service_id)
    .where(
        integrations.c.bot == sa.bindparam("bot"),
        integrations.c.revoked_at.is_(None),
        services.c.name == sa.bindparam("service"),
    )
    .order_by(integrations.c.created_at)
    .limit(1)
)
_BY_SERVICE_ID = (
    sa.select(integrations.c.id, integrations.c.service_id)
    .where(
        integrations.c.bot == sa.bindparam("bot"),
        integrations.c.revoked_at.is_(None),
        integrations.c.service_id == sa.bindparam("service_id"),
    )
    .order_by(integrations.c.created_at)
    .limit(1)
)


def live_service(
    conn: Connection, bot: str, key_hash: str, service: str | None
) -> tuple[str, str, str] | None:
    """The rules of `resolve_integration` on a connection (shared with the hand-over,
    store/hand_over.py): the key's integration, the integration used and its service id."""
    row = _live_key(conn, key_hash)
    if row is None or row.revoked_at is not None or row.bot != bot or row.service_id is None:
        return None
    if service is None:
        return row.id, row.id, row.service_id
    target = conn.execute(_BY_SERVICE_NAME, {"bot": bot, "service": service}).one_or_none()
    if target is None:  # named in another case, accents or spacing: found by its normal form
        service_id = ids_by_name(conn, services, [service]).get(service)
        if service_id is not None:
            found = {"bot": bot, "service_id": service_id}
            target = conn.execute(_BY_SERVICE_ID, found).one_or_none()
    if target is None:
        return None
    return row.id, target.id, target.service_id


def key_warning(engine: Engine, bot: str, key: str | None) -> str | None:
    """A warning for publishing ``bot`` with ``key`` as its omni_key; None when the key is live.

    Call it for bots with ``human_service``; ``key`` is the resolved omni_key (None when it is
    empty or its ``${VAR}`` is unset). The warning never repeats the key.
    """
    if not key:
        return f"bot {bot!r} has no Omni key: its Humano blocks will end 'unavailable'"
    with reads(engine) as conn:
        row = _live_key(conn, keys.hash_key(key))
    if row is None:
        return f"the omni_key of bot {bot!r} matches no Omni integration; {NEW_KEY_HINT}"
    if row.bot != bot:
        return (
            f"the omni_key of bot {bot!r} belongs to an integration of another bot; {NEW_KEY_HINT}"
        )
    if row.revoked_at is not None or row.service_id is None:
        return f"the omni_key of bot {bot!r} was revoked (or its service deleted); {NEW_KEY_HINT}"
    return None
