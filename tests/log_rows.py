"""Conversation log rows that store tests start from (store/conversations.py): bot `loja`,
contact 5511, block `menu`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from store import conversations as conversation_log
from workflows.contracts import Message, RecordBatch


def opened(engine: sa.Engine, conversation_id: str, **row: Any) -> None:
    """The conversation's row as the API creates it with its first message (`row` overrides)."""
    conversation_log.ensure_conversation(
        engine,
        **{
            "conversation_id": conversation_id,
            "workflow_id": f"conversation:loja:{conversation_id}",
            "bot": "loja",
            "bot_version": 1,
            "contact_id": "5511",
            "status": "bot",
            **row,
        },
    )


def batch(
    conversation_id: str, status: str, *messages: Message, through: int | None = None
) -> RecordBatch:
    """What the workflow's pump records (`record_batch`)."""
    return RecordBatch(
        conversation_id=conversation_id,
        workflow_id=f"conversation:loja:{conversation_id}",
        bot="loja",
        bot_version=1,
        contact_id="5511",
        status=status,  # type: ignore[arg-type]
        block="menu",
        messages=list(messages),
        through=through,
    )
