"""The conversation log in SQL: one row per conversation, every message with its `seq`.

The workflow records batches here (idempotently, so activity retries are harmless); the API
reads it, so transcripts and SSE streams work from any API replica, with or without a worker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from store.tables import conversations, messages


def record_batch(engine: Engine, batch: Any) -> None:
    """Upsert the conversation row and insert the batch's messages (skipping ones already there)."""
    try:
        _record(engine, batch)
    except sa.exc.IntegrityError:  # the API created the row meanwhile: now it is an update
        _record(engine, batch)


def _record(engine: Engine, batch: Any) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(conversations.c.last_seq).where(conversations.c.id == batch.conversation_id)
        ).first()
        last_seq = max([row.last_seq if row else 0, *(m.seq for m in batch.messages)])
        values = {
            "status": batch.status,
            "block": batch.block,
            "service": batch.service,
            "agent": batch.agent,
            "last_seq": last_seq,
            "updated_at": now,
        }
        if row is None:
            conn.execute(
                conversations.insert().values(
                    id=batch.conversation_id,
                    workflow_id=batch.workflow_id,
                    bot=batch.bot,
                    bot_version=batch.bot_version,
                    contact_id=batch.contact_id,
                    created_at=now,
                    **values,
                )
            )
        else:
            conn.execute(
                conversations.update()
                .where(conversations.c.id == batch.conversation_id)
                .values(**values)
            )
        seqs = [m.seq for m in batch.messages]
        existing = (
            set(
                conn.scalars(
                    sa.select(messages.c.seq).where(
                        messages.c.conversation_id == batch.conversation_id,
                        messages.c.seq.in_(seqs),
                    )
                )
            )
            if seqs
            else set()
        )
        rows = [
            {
                "conversation_id": batch.conversation_id,
                "seq": m.seq,
                "sender": m.sender,
                "kind": m.kind,
                "text": m.text,
                "message_id": m.message_id,
                "data": {"options": m.options, **(m.data or {})} if m.options or m.data else None,
                "created_at": m.at,
            }
            for m in batch.messages
            if m.seq not in existing
        ]
        if rows:
            conn.execute(messages.insert(), rows)


def ensure_conversation(
    engine: Engine,
    *,
    conversation_id: str,
    workflow_id: str,
    bot: str,
    bot_version: int,
    contact_id: str,
    status: str,
) -> None:
    """Make a new conversation readable at once (the workflow's own record may come later)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        exists = conn.execute(
            sa.select(conversations.c.id).where(conversations.c.id == conversation_id)
        ).first()
        if exists is None:
            try:
                conn.execute(
                    conversations.insert().values(
                        id=conversation_id,
                        workflow_id=workflow_id,
                        bot=bot,
                        bot_version=bot_version,
                        contact_id=contact_id,
                        status=status,
                        last_seq=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
            except sa.exc.IntegrityError:
                pass  # the workflow's record won the race


def get_conversation(engine: Engine, conversation_id: str) -> sa.Row[Any] | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(conversations).where(conversations.c.id == conversation_id)
        ).first()


def latest_conversation(engine: Engine, bot: str, contact_id: str) -> sa.Row[Any] | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(conversations)
            .where(conversations.c.bot == bot, conversations.c.contact_id == contact_id)
            .order_by(conversations.c.created_at.desc())
            .limit(1)
        ).first()


def messages_after(
    engine: Engine, conversation_id: str, after: int = 0, limit: int = 500
) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(messages)
                .where(messages.c.conversation_id == conversation_id, messages.c.seq > after)
                .order_by(messages.c.seq)
                .limit(limit)
            )
        )


def answer_of(
    engine: Engine, bot: str, contact_id: str, message_id: str
) -> tuple[sa.Row[Any], list[sa.Row[Any]]] | None:
    """A customer message already recorded, with the replies that followed it (its answer)."""
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(messages.c.conversation_id, messages.c.seq)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                conversations.c.bot == bot,
                conversations.c.contact_id == contact_id,
                messages.c.message_id == message_id,
            )
            .limit(1)
        ).first()
        if found is None:
            return None
        conversation = conn.execute(
            sa.select(conversations).where(conversations.c.id == found.conversation_id)
        ).one()
        following = conn.execute(
            sa.select(messages)
            .where(messages.c.conversation_id == found.conversation_id, messages.c.seq > found.seq)
            .order_by(messages.c.seq)
            .limit(100)
        )
        replies = []
        for message in following:
            if message.sender == "customer":
                break
            replies.append(message)
        return conversation, replies
