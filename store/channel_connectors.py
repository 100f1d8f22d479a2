"""Channel connectors of a bot (WhatsApp, Telegram) and what became of each message sent.

A connector's secrets (access token, app secret, verify token, bot token, secret token) are one
JSON object encrypted with the key ring (`encrypt_text`), like webhook secrets; lists show which
are set, never their values. Deliveries: one row per request part of a transcript entry
(`conversation_id`, `seq`, `part`), written once sent, so a retried send skips what went out;
the platform's statuses (delivered, read, failed) update the row by the platform's message id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from encryption.codec import KeyRing, decrypt_text, encrypt_text
from omni.errors import NotFound
from store.common import new_id, now
from store.db import reads
from store.tables import channel_connectors as connectors
from store.tables import channel_deliveries as deliveries
from store.tables import conversations

STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
"""A status only moves forward (a late "delivered" does not undo "read")."""


@dataclass(frozen=True)
class ConnectorRow:
    """A connector as lists show it: which secrets are set, not their values."""

    id: str
    bot: str
    platform: str
    account_id: str | None
    secrets_set: list[str]
    template_name: str | None
    template_language: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ConnectorSettings:
    """A connector as the webhook route and the sender need it (secrets in clear)."""

    bot: str
    platform: str
    account_id: str | None
    secrets: dict[str, str]
    template_name: str | None
    template_language: str | None


@dataclass(frozen=True)
class DeliveryRow:
    seq: int
    part: int
    platform: str
    platform_message_id: str | None
    status: str
    error: str | None
    updated_at: datetime


def save(
    engine: Engine,
    ring: KeyRing,
    settings: ConnectorSettings,
) -> ConnectorRow:
    """Create or replace the bot's connector of that platform; secrets not given are kept."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(connectors.c.id, connectors.c.secrets).where(
                connectors.c.bot == settings.bot, connectors.c.platform == settings.platform
            )
        ).one_or_none()
        kept = json.loads(decrypt_text(ring, row.secrets)) if row is not None else {}
        secrets = {**kept, **{k: v for k, v in settings.secrets.items() if v}}
        values = {
            "account_id": settings.account_id,
            "secrets": encrypt_text(ring, json.dumps(secrets)),
            "template_name": settings.template_name,
            "template_language": settings.template_language,
            "updated_at": now(),
        }
        if row is None:
            conn.execute(
                sa.insert(connectors).values(
                    id=new_id("chn"),
                    bot=settings.bot,
                    platform=settings.platform,
                    created_at=values["updated_at"],
                    **values,
                )
            )
        else:
            conn.execute(sa.update(connectors).where(connectors.c.id == row.id).values(**values))
    found = [c for c in list_for(engine, ring, settings.bot) if c.platform == settings.platform]
    return found[0]


def list_for(engine: Engine, ring: KeyRing, bot: str) -> list[ConnectorRow]:
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(connectors).where(connectors.c.bot == bot).order_by(connectors.c.platform)
        ).all()
    listed = []
    for r in rows:
        clear = _settings(ring, r)
        listed.append(
            ConnectorRow(
                id=r.id,
                bot=clear.bot,
                platform=clear.platform,
                account_id=clear.account_id,
                secrets_set=sorted(clear.secrets),
                template_name=clear.template_name,
                template_language=clear.template_language,
                updated_at=r.updated_at,
            )
        )
    return listed


def _settings(ring: KeyRing, r: sa.Row[Any]) -> ConnectorSettings:
    """A connector row with its secrets decrypted."""
    return ConnectorSettings(
        bot=r.bot,
        platform=r.platform,
        account_id=r.account_id,
        secrets=json.loads(decrypt_text(ring, r.secrets)),
        template_name=r.template_name,
        template_language=r.template_language,
    )


def delete(engine: Engine, bot: str, platform: str) -> None:
    with engine.begin() as conn:
        gone = conn.execute(
            sa.delete(connectors).where(connectors.c.bot == bot, connectors.c.platform == platform)
        ).rowcount
    if not gone:
        raise NotFound(f"bot {bot!r} has no {platform} connector")


def settings_of(engine: Engine, ring: KeyRing, bot: str, platform: str) -> ConnectorSettings | None:
    """The connector with its secrets decrypted, or None."""
    with reads(engine) as conn:
        r = conn.execute(
            sa.select(connectors).where(connectors.c.bot == bot, connectors.c.platform == platform)
        ).one_or_none()
    return None if r is None else _settings(ring, r)


def sent_parts(engine: Engine, conversation_id: str, seq: int) -> set[int]:
    """The parts of this entry already sent (a retried send skips them)."""
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(deliveries.c.part).where(
                deliveries.c.conversation_id == conversation_id, deliveries.c.seq == seq
            )
        ).all()
    return {r.part for r in rows}


def record_part(
    engine: Engine,
    conversation_id: str,
    seq: int,
    part: int,
    platform: str,
    *,
    platform_message_id: str | None,
    status: str,
    error: str | None = None,
) -> None:
    """One request part's outcome (written once; a second write of the same part is ignored)."""
    values = {
        "conversation_id": conversation_id,
        "seq": seq,
        "part": part,
        "platform": platform,
        "platform_message_id": platform_message_id,
        "status": status,
        "error": error,
        "updated_at": now(),
    }
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(deliveries).values(**values))
    except IntegrityError:
        return


def record_status(
    engine: Engine,
    bot: str,
    platform: str,
    platform_message_id: str,
    status: str,
    error: str | None,
) -> bool:
    """The platform's status of a message `bot` sent (the bot whose webhook received it);
    False when it is not one of that bot's."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(
                deliveries.c.conversation_id,
                deliveries.c.seq,
                deliveries.c.part,
                deliveries.c.status,
            )
            .join(conversations, conversations.c.id == deliveries.c.conversation_id)
            .where(
                conversations.c.bot == bot,
                deliveries.c.platform == platform,
                deliveries.c.platform_message_id == platform_message_id,
            )
        ).first()
        if row is None:
            return False
        if STATUS_RANK.get(status, 0) > STATUS_RANK.get(row.status, 0):
            conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.conversation_id == row.conversation_id,
                    deliveries.c.seq == row.seq,
                    deliveries.c.part == row.part,
                )
                .values(status=status, error=error, updated_at=now())
            )
    return True


def deliveries_of(engine: Engine, conversation_id: str) -> list[DeliveryRow]:
    """Every part sent (or refused) of the conversation, in transcript order."""
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(deliveries)
            .where(deliveries.c.conversation_id == conversation_id)
            .order_by(deliveries.c.seq, deliveries.c.part)
        ).all()
    return [
        DeliveryRow(
            seq=r.seq,
            part=r.part,
            platform=r.platform,
            platform_message_id=r.platform_message_id,
            status=r.status,
            error=r.error,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
