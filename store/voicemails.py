"""Voicemails ("Caixa Postal") in SQL: saved by the Humano block, listed for the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from store.db import reads
from store.tables import voicemails


@dataclass(frozen=True, slots=True)
class Voicemail:
    """What a customer left in a service's "Caixa Postal"; the service's name is kept, so the
    voicemail outlives the service."""

    id: str
    service_id: str | None
    service_name: str
    conversation_id: str
    bot: str
    contact_id: str
    text: str
    created_at: datetime


def save(
    engine: Engine,
    *,
    voicemail_id: str,
    service_id: str,
    service_name: str,
    conversation_id: str,
    bot: str,
    contact_id: str,
    text: str,
) -> None:
    """Store one voicemail (once: a retry with the same id changes nothing)."""
    with engine.begin() as conn:
        exists = conn.execute(
            sa.select(voicemails.c.id).where(voicemails.c.id == voicemail_id)
        ).first()
        if exists is None:
            conn.execute(
                voicemails.insert().values(
                    id=voicemail_id,
                    service_id=service_id,
                    service_name=service_name,
                    conversation_id=conversation_id,
                    bot=bot,
                    contact_id=contact_id,
                    text=text,
                    created_at=datetime.now(UTC),
                )
            )


def listed(engine: Engine, service: str | None = None, limit: int = 200) -> list[Voicemail]:
    """Newest first; `service` filters by service name."""
    query = sa.select(voicemails).order_by(voicemails.c.created_at.desc()).limit(limit)
    if service is not None:
        query = query.where(voicemails.c.service_name == service)
    with reads(engine) as conn:
        return [_voicemail(row) for row in conn.execute(query)]


def _voicemail(row: sa.Row[Any]) -> Voicemail:
    return Voicemail(
        id=row.id,
        service_id=row.service_id,
        service_name=row.service_name,
        conversation_id=row.conversation_id,
        bot=row.bot,
        contact_id=row.contact_id,
        text=row.text,
        created_at=row.created_at,
    )
