"""SQL of the transcript e-mails: one per conversation (a retry or a second finish sends none)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from store.common import is_postgres, now
from store.db import reads
from store.tables import transcript_mails


def was_sent(engine: Engine, conversation_id: str) -> bool:
    with reads(engine) as conn:
        found = conn.execute(
            sa.select(transcript_mails.c.conversation_id).where(
                transcript_mails.c.conversation_id == conversation_id
            )
        ).first()
    return found is not None


def mark_sent(engine: Engine, conversation_id: str) -> None:
    """Remember the mail went out (once)."""
    with engine.begin() as conn:
        insert = postgresql.insert if is_postgres(conn) else sqlite.insert
        statement = insert(transcript_mails).values(conversation_id=conversation_id, sent_at=now())
        conn.execute(statement.on_conflict_do_nothing())
