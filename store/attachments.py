"""Attachments in SQL: one row per file (who sent it, where it belongs, what it is); the bytes
are kept by store/attachment_files.py."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from store import tables
from store.common import new_id, now
from store.db import reads


@dataclass(frozen=True)
class Attachment:
    id: str
    bot: str
    contact_id: str
    conversation_id: str | None
    name: str
    content_type: str
    size: int | None
    source: str
    status: str


def new_attachment_id() -> str:
    return new_id("att")


def add(
    engine: Engine,
    *,
    id: str,
    bot: str,
    contact_id: str,
    name: str,
    content_type: str,
    size: int | None,
    source: str,
    status: str = "ready",
    conversation_id: str | None = None,
    again_ok: bool = False,
) -> Attachment:
    """A new row; with `again_ok` a row already there under `id` is kept as it is."""
    values = {
        "id": id,
        "bot": bot,
        "contact_id": contact_id,
        "conversation_id": conversation_id,
        "name": name,
        "content_type": content_type,
        "size": size,
        "source": source,
        "status": status,
    }
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(tables.attachments).values(**values, created_at=now()))
    except IntegrityError:
        if not again_ok:
            raise
    return Attachment(**values)  # type: ignore[arg-type]


def get(engine: Engine, attachment_id: str) -> Attachment | None:
    t = tables.attachments
    with reads(engine) as conn:
        row = conn.execute(sa.select(t).where(t.c.id == attachment_id)).mappings().first()
    if row is None:
        return None
    return Attachment(**{k: v for k, v in row.items() if k != "created_at"})


def belongs_to(engine: Engine, attachment_id: str, conversation_id: str) -> None:
    """The conversation the attachment was sent in (known once it was delivered)."""
    t = tables.attachments
    with engine.begin() as conn:
        conn.execute(
            sa.update(t).where(t.c.id == attachment_id).values(conversation_id=conversation_id)
        )


def ready(engine: Engine, attachment_id: str, content_type: str, size: int) -> None:
    """A fetched channel media is stored: its real type and size."""
    t = tables.attachments
    with engine.begin() as conn:
        conn.execute(
            sa.update(t)
            .where(t.c.id == attachment_id)
            .values(status="ready", content_type=content_type, size=size)
        )


def failed(engine: Engine, attachment_id: str) -> None:
    t = tables.attachments
    with engine.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == attachment_id).values(status="failed"))


def served_by(engine: Engine, conversation_id: str, agent_id: str) -> bool:
    """Whether `agent_id` holds or held the conversation (a queue entry of it is the agent's):
    an agent keeps its conversations, and their files, when a service is taken from it."""
    q = tables.queue_entries
    with reads(engine) as conn:
        found = conn.execute(
            sa.select(q.c.id)
            .where(q.c.conversation_id == conversation_id, q.c.agent_id == agent_id)
            .limit(1)
        )
        return found.first() is not None


def services_of(engine: Engine, conversation_id: str) -> set[str]:
    """The names of every service the conversation was queued in (open or closed entries):
    their agents may open its attachments."""
    q, s = tables.queue_entries, tables.services
    with reads(engine) as conn:
        names = conn.execute(
            sa.select(s.c.name)
            .select_from(q.join(s, s.c.id == q.c.service_id))
            .where(q.c.conversation_id == conversation_id)
            .distinct()
        ).scalars()
        return set(names)
