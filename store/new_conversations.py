"""A conversation's row, made by the API as its first message is answered.

The workflow records the row itself too (`store.conversations.record_batch`), later; the API
makes it first, so the conversation is readable at once (read-your-writes). The API's insert
never overwrites a row the workflow recorded first; a later record of the workflow updates the
API's row as any record does. The first message's turn writes the row in the
same transaction as its entries (`store.conversations.record_turn(new=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPICursor

from store import notify
from store.prepared import prepared, raw_transaction
from store.tables import conversations


@dataclass(frozen=True, slots=True)
class NewConversation:
    """A conversation's row as its first message's answer creates it (before the workflow's
    own record): `ensure_conversation`, or `record_turn(new=...)` with the first turn."""

    conversation_id: str
    workflow_id: str
    bot: str
    bot_version: int
    contact_id: str
    status: str


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
    new = NewConversation(conversation_id, workflow_id, bot, bot_version, contact_id, status)
    with raw_transaction(engine) as cursor:
        inserted = insert_new(cursor, engine, new, datetime.now(UTC))
        if inserted and engine.dialect.name == "postgresql":  # streams waiting for the row
            prepared(notify.NOTIFY, engine).execute(
                cursor, notify.log_written_params(conversation_id, 0)
            )


def insert_new(cursor: DBAPICursor, engine: Engine, new: NewConversation, now: datetime) -> bool:
    """Insert `new`'s row unless it is there (the workflow's record won the race: it is never
    overwritten); whether it was inserted."""
    prepared(_INSERT_NEW[engine.dialect.name == "postgresql"], engine).execute(
        cursor,
        {
            "id": new.conversation_id,
            "workflow_id": new.workflow_id,
            "bot": new.bot,
            "bot_version": new.bot_version,
            "contact_id": new.contact_id,
            "status": new.status,
            "block": None,
            "service": None,
            "agent": None,
            "last_seq": 0,
            "created_at": now,
            "updated_at": now,
            "status_seq": 0,
        },
    )
    return bool(cursor.rowcount == 1)


_INSERT_NEW = {
    postgres: insert(conversations).on_conflict_do_nothing(index_elements=["id"])
    for postgres, insert in ((False, sqlite.insert), (True, postgresql.insert))
}
