"""The conversation log in SQL: one row per conversation, every message with its `seq`.

The API writes what its Updates answered (`record_turn`: read-your-writes, and for requests
sent `log_ahead` the row's status); the workflow records the rest, and everything again as a
backstop (`record_batch`; both idempotent, so retries are harmless). The API reads it, so
transcripts and SSE streams work from any API replica, with or without a worker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert, Update

from omni.desk import AGENT_ONLY_KINDS
from store import bots as bot_store
from store import notify, turn_statement
from store.answered import ANSWERED
from store.db import reads, writing_until
from store.log_shapes import LogBatch, LoggedMessage, RowStatus
from store.loop_writes import LoopBusy, loop_transaction
from store.new_conversations import NewConversation as NewConversation
from store.new_conversations import ensure_conversation as ensure_conversation
from store.new_conversations import insert_new
from store.prepared import pipelined, prepared, raw_statement, raw_transaction
from store.row_raises import (
    FIRST_TURN,
    NEW_COLUMNS,
    RAISE_TOP,
    RAISE_TOP_WITH_STATUS,
    STATUS_COLUMNS,
    UPDATE,
    UPDATE_GUARDED,
)
from store.tables import conversations, messages


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """A conversation as the log knows it (written ahead by the API, or trailing the
    workflow by one record batch in runs that batch: workflows/message_log.py)."""

    id: str
    workflow_id: str
    bot: str
    bot_version: int
    contact_id: str
    status: str
    block: str | None
    service: str | None
    agent: str | None
    last_seq: int
    created_at: datetime
    updated_at: datetime
    status_seq: int = 0
    """The seq the status and block were taken at (store/row_raises.py); 0 when unknown."""


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One transcript entry as recorded; ``data`` holds menu options and extras."""

    conversation_id: str
    seq: int
    sender: str
    kind: str
    text: str | None
    message_id: str | None
    data: dict[str, Any] | None
    created_at: datetime


def _conversation(row: sa.Row[Any]) -> ConversationRow:
    return ConversationRow(
        id=row.id,
        workflow_id=row.workflow_id,
        bot=row.bot,
        bot_version=row.bot_version,
        contact_id=row.contact_id,
        status=row.status,
        block=row.block,
        service=row.service,
        agent=row.agent,
        last_seq=row.last_seq,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_seq=row.status_seq,
    )


conversation_of = _conversation
"""A conversation's row as read by a query that selects all its columns (store/standing.py)."""


def _message(row: sa.Row[Any]) -> MessageRow:
    return MessageRow(
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender=row.sender,
        kind=row.kind,
        text=row.text,
        message_id=row.message_id,
        data=row.data,
        created_at=row.created_at,
    )


def record_batch(engine: Engine, batch: LogBatch, *, within: float | None = None) -> None:
    """Upsert the conversation row and insert the batch's messages (skipping ones already there:
    the API may have written a turn's messages first, see `record_turn`). `within`: seconds
    after which a locked SQLite database fails the write, retry included (store/db.py
    `writing_until`)."""
    deadline = None if within is None else time.monotonic() + within
    try:
        _record(engine, batch, deadline)
    except sa.exc.IntegrityError:  # the API created the row meanwhile: now it is an update
        _record(engine, batch, deadline)


_EXISTS = sa.select(conversations.c.id).where(conversations.c.id == sa.bindparam("id"))
_INSERT = conversations.insert()


def _record(engine: Engine, batch: LogBatch, deadline: float | None) -> None:
    with engine.begin() as conn, writing_until(conn, deadline):
        record_on(conn, batch)


def record_on(conn: sa.Connection, batch: LogBatch) -> None:
    """`record_batch`'s writes on the caller's connection and transaction (the hand-over
    records a new run's first turn with its queue entry: store/hand_over.py). A concurrent
    creation of the row raises IntegrityError: the caller rolls back and tries again."""
    now = datetime.now(UTC)
    top = max((m.seq for m in batch.messages), default=0)
    exists = conn.execute(_EXISTS, {"id": batch.conversation_id}).first()
    values = {
        "status": batch.status,
        "block": batch.block,
        "service": batch.service,
        "agent": batch.agent,
        "updated_at": now,
    }
    if exists is None:
        conn.execute(
            _INSERT,
            {
                "id": batch.conversation_id,
                "workflow_id": batch.workflow_id,
                "bot": batch.bot,
                "bot_version": batch.bot_version,
                "contact_id": batch.contact_id,
                "created_at": now,
                "last_seq": top,
                "status_seq": top if batch.through is None else batch.through,
                **values,
            },
        )
    elif batch.through is None:
        conn.execute(UPDATE, {"conversation": batch.conversation_id, "top": top, **values})
    else:
        guarded = {f"{name}_now": values[name] for name in STATUS_COLUMNS}
        ids = {"conversation": batch.conversation_id, "top": top, "through": batch.through}
        conn.execute(UPDATE_GUARDED, {**ids, **guarded, "updated_at": now})
    if batch.messages:
        rows = _message_rows(batch.conversation_id, batch.messages)
        conn.execute(_INSERT_MESSAGES[conn.dialect.name == "postgresql"], rows)
    notify.log_written(conn, batch.conversation_id, top)


def record_turn(
    engine: Engine,
    conversation_id: str,
    entries: Sequence[LoggedMessage],
    status: RowStatus | None = None,
    *,
    new: NewConversation | None = None,
    on_the_loop: bool = False,
) -> None:
    """Write entries the API just got back from an Update (a customer's turn, an agent's
    message, a pickup's notice), so the transcript reads its own writes; the workflow's
    `record_batch` of the same seqs skips them. With the Update's `status` (a `log_ahead`
    request's, given when its entries are the run's newest), the row's status columns too,
    unless a status taken later is there (`status_seq`): the workflow's records are guarded
    the same way (`UPDATE_GUARDED`). A first message's turn creates its conversation's row
    (`new`) in the same write. On every message's path: store/prepared.py runs it, on
    PostgreSQL as one statement (store/turn_statement.py; up to MAX_ENTRIES entries, a first
    message's row included), or as one pipeline (a longer turn). `on_the_loop` (SQLite): on
    the event loop's own connection, never waiting (store/loop_writes.py: `LoopBusy` when it
    would)."""
    if on_the_loop and (engine.dialect.name != "sqlite" or not entries):
        raise LoopBusy("a thread writes this one")  # a round trip, or a row alone: may wait
    if not entries:
        if new is not None:
            ensure_conversation(engine, **asdict(new))
        return
    if _fits_one_statement(engine, entries):
        with raw_statement(engine) as cursor:  # one statement, one round trip
            one = one_statement(engine, conversation_id, entries, status, new)
            assert one is not None
            cursor.execute(*one)  # (a value no column takes: a StatementError, as any write's)
        return
    top, update, params, rows = _turn(conversation_id, entries, status)
    postgres = engine.dialect.name == "postgresql"
    opened = loop_transaction(engine) if on_the_loop else raw_transaction(engine)
    with opened as cursor, pipelined(engine, cursor):  # one trip on PostgreSQL
        if new is not None:
            insert_new(cursor, engine, new, params["at"])
        prepared(update, engine).execute(cursor, params)
        prepared(_INSERT_MESSAGES[postgres], engine).execute_many(cursor, rows)
        if postgres:
            prepared(notify.NOTIFY, engine).execute(
                cursor, notify.log_written_params(conversation_id, top)
            )


def one_statement(
    engine: Engine,
    conversation_id: str,
    entries: Sequence[LoggedMessage],
    status: RowStatus | None,
    new: NewConversation | None,
) -> tuple[str, Any] | None:
    """PostgreSQL: `record_turn`'s write of `entries` as one statement's SQL and parameters
    (store/turn_statement.py), for any autocommit connection; None where it takes a
    transaction (SQLite, no entries, a longer turn)."""
    if not _fits_one_statement(engine, entries):
        return None
    top, update, params, rows = _turn(conversation_id, entries, status)
    raised: Update | Insert = update
    if new is not None:  # the row's INSERT in place of its UPDATE (store/row_raises.py)
        raised = FIRST_TURN[update]
        params.update({f"new_{name}": getattr(new, name) for name in NEW_COLUMNS})
    notice = notify.log_written_params(conversation_id, top)
    return turn_statement.compiled_turn(engine, raised, params, rows, notice)


def _fits_one_statement(engine: Engine, entries: Sequence[LoggedMessage]) -> bool:
    return engine.dialect.name == "postgresql" and 0 < len(entries) <= turn_statement.MAX_ENTRIES


def _turn(
    conversation_id: str, entries: Sequence[LoggedMessage], status: RowStatus | None
) -> tuple[int, Update, dict[str, Any], list[dict[str, Any]]]:
    """A turn's top seq, the row's raise, its parameters and the entries' rows."""
    top = max(m.seq for m in entries)
    params: dict[str, Any] = {"conversation": conversation_id, "top": top, "at": datetime.now(UTC)}
    update = RAISE_TOP
    if status is not None:
        update = RAISE_TOP_WITH_STATUS
        params.update({f"{name}_now": getattr(status, name) for name in STATUS_COLUMNS})
    return top, update, params, _message_rows(conversation_id, entries)


def _message_rows(conversation_id: str, entries: Sequence[LoggedMessage]) -> list[dict[str, Any]]:
    """The entries' rows. A NUL in a text (a back-end's answer a bot says, a platform's
    message) becomes U+FFFD: PostgreSQL's text cannot hold it, and the workflow's record of
    the entry would fail on every retry."""
    return [
        {
            "conversation_id": conversation_id,
            "seq": m.seq,
            "sender": m.sender,
            "kind": m.kind,
            "text": m.text.replace("\x00", "\ufffd") if m.text else m.text,
            "message_id": m.message_id,
            "data": {"options": m.options, **(m.data or {})} if m.options or m.data else None,
            "created_at": m.at,
        }
        for m in entries
    ]


_INSERT_MESSAGES = {
    postgres: insert(messages).on_conflict_do_nothing(index_elements=["conversation_id", "seq"])
    for postgres, insert in ((False, sqlite.insert), (True, postgresql.insert))
}
"""By dialect: PostgreSQL's, or SQLite's (built once). Inserts the entries whose
(conversation_id, seq) is not there yet: concurrent writers of the same seqs (the API and the
workflow's pump) both succeed, one row stays."""


def get_conversation(engine: Engine, conversation_id: str) -> ConversationRow | None:
    with reads(engine) as conn:
        row = conn.execute(_CONVERSATION, {"id": conversation_id}).first()
    return _conversation(row) if row is not None else None


_CONVERSATION = sa.select(conversations).where(conversations.c.id == sa.bindparam("id"))
_LATEST = (
    sa.select(conversations)
    .where(
        conversations.c.bot == sa.bindparam("bot"),
        conversations.c.contact_id == sa.bindparam("contact"),
    )
    .order_by(conversations.c.created_at.desc())
    .limit(1)
)


def latest_conversation(engine: Engine, bot: str, contact_id: str) -> ConversationRow | None:
    """The contact's newest conversation with the bot, open or ended."""
    with reads(engine) as conn:
        row = conn.execute(_LATEST, {"bot": bot, "contact": contact_id}).first()
    return _conversation(row) if row is not None else None


def latest_with_newest_version(
    engine: Engine, bot: str, contact_id: str
) -> tuple[ConversationRow | None, tuple[int, datetime] | None]:
    """`latest_conversation` and the bot's newest version's key (store/bots.py `NEWEST`, for
    `version_of`) in one query: what a message asks SQL before its Update when no open
    conversation is known (one round trip on PostgreSQL instead of two)."""
    with reads(engine) as conn:
        row = conn.execute(_LATEST_AND_NEWEST, {"bot": bot, "contact": contact_id}).one()
    latest = _conversation(row) if row.id is not None else None
    return latest, (row.newest, row.newest_at) if row.newest is not None else None


_latest = _LATEST.subquery("latest")
_newest = bot_store.NEWEST.subquery("newest")
_LATEST_AND_NEWEST = sa.select(
    _latest, _newest.c.version.label("newest"), _newest.c.created_at.label("newest_at")
).select_from(
    sa.select(sa.literal(1).label("one"))
    .subquery("one")
    .outerjoin(_latest, sa.true())
    .outerjoin(_newest, sa.true())
)  # always one row: the conversation's columns and the version's, each NULL where none is


def messages_after(
    engine: Engine,
    conversation_id: str,
    after: int = 0,
    limit: int = 500,
    *,
    also: Sequence[int] = (),
    for_customer: bool = False,
) -> list[MessageRow]:
    """The transcript after ``seq`` ``after``, in order (``for_customer``: without what only
    agents see, so a page is never emptied after its limit); first, the entries at the seqs
    ``also``, a stream's (api/stream_hub.py `LogCursor`; not in ``limit``)."""
    ours, by_seq = messages.c.conversation_id == conversation_id, messages.c.seq
    with reads(engine) as conn:
        late = sa.select(messages).where(ours, by_seq.in_(also)).order_by(by_seq)
        found = conn.execute(late).all() if also else []  # its own query: each uses the index
        new = sa.select(messages).where(ours, by_seq > after).order_by(by_seq).limit(limit)
        new = new.where(messages.c.kind.not_in(AGENT_ONLY_KINDS)) if for_customer else new
        return [_message(row) for row in (*found, *conn.execute(new))]


def seqs_present(engine: Engine, conversation_id: str, seqs: range) -> list[int]:
    """Which of ``seqs`` are in the log (the rest are the holes a stream looks for:
    api/stream_hub.py `LogCursor.over_holes`)."""
    ours, by_seq = messages.c.conversation_id == conversation_id, messages.c.seq
    query = sa.select(by_seq).where(ours, by_seq >= seqs.start, by_seq < seqs.stop)
    with reads(engine) as conn:
        return list(conn.execute(query).scalars())


def customer_facing(rows: list[MessageRow]) -> list[MessageRow]:
    """The entries the customer may see: everything but notes, whispers, supervisor notices."""
    return [row for row in rows if row.kind not in AGENT_ONLY_KINDS]


_FOLLOWING = (
    sa.select(messages)
    .where(messages.c.conversation_id == sa.bindparam("id"), messages.c.seq > sa.bindparam("seq"))
    .order_by(messages.c.seq)
    .limit(100)
)


def answer_of(
    engine: Engine, bot: str, contact_id: str, message_id: str
) -> tuple[ConversationRow, list[MessageRow]] | None:
    """A customer message already recorded, with the replies that followed it (its answer)."""
    with reads(engine) as conn:
        params = {"bot": bot, "contact": contact_id, "message": message_id}
        found = conn.execute(ANSWERED, params).first()
        if found is None:
            return None
        conversation = conn.execute(_CONVERSATION, {"id": found.conversation_id}).one()
        following = conn.execute(_FOLLOWING, {"id": found.conversation_id, "seq": found.seq})
        turn = takewhile(lambda row: row.sender != "customer", following)
        replies = [_message(row) for row in turn if row.kind not in AGENT_ONLY_KINDS]
        return _conversation(conversation), replies
