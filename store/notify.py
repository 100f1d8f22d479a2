"""Change notices for the API's stream hub (api/stream_hub.py): on PostgreSQL a `NOTIFY` sent in
the writer's own transaction, so it reaches listeners exactly when the rows are visible.

SQLite has no notices: the hub polls one cheap change counter instead (`PRAGMA data_version`),
so on SQLite these calls do nothing. Channels and payloads are the hub's contract.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

LOG_CHANNEL = "transbordo_log"
"""Payload: `<conversation id>:<last seq written>` after messages or the status were written."""
QUEUE_CHANNEL = "transbordo_queue"
"""Payload: empty; a queue entry was added or changed status."""
TYPING_CHANNEL = "transbordo_typing"
"""Payload: `<conversation id>:<side>` (`customer` or `agent`): someone is typing (ephemeral:
nothing is written; api/typing.py)."""


def log_written(conn: Connection, conversation_id: str, seq: int) -> None:
    """Say that the log of `conversation_id` changed (delivered at commit)."""
    _notify(conn, log_written_params(conversation_id, seq))


def log_written_params(conversation_id: str, seq: int) -> dict[str, str]:
    """`NOTIFY`'s parameters for `log_written` (for a caller with a DBAPI cursor)."""
    return _params(LOG_CHANNEL, f"{conversation_id}:{seq}")


def queue_changed(conn: Connection) -> None:
    """Say that the waiting list changed (delivered at commit)."""
    _notify(conn, _params(QUEUE_CHANNEL, ""))


def typing(conn: Connection, conversation_id: str, side: str) -> None:
    """Say that `side` is typing in `conversation_id` (PostgreSQL; delivered at commit)."""
    _notify(conn, _params(TYPING_CHANNEL, f"{conversation_id}:{side}"))


NOTIFY = sa.select(
    sa.func.pg_notify(
        sa.bindparam("channel", type_=sa.String), sa.bindparam("payload", type_=sa.String)
    )
)  # built once: every write of a conversation sends one (store/hand_over.py's reasoning)


def _params(channel: str, payload: str) -> dict[str, str]:
    return {"channel": channel, "payload": payload}


def _notify(conn: Connection, params: dict[str, str]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(NOTIFY, params)
