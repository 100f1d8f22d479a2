"""SQLite turns written on the event loop (store/loop_writes.py): never waiting. A database
another process is writing sends the write to a thread, and the API goes on serving; the loop's
own connection never checkpoints the WAL, the checkpoint every CHECKPOINT_EVERY writes does."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime

import pytest

from store import conversations as conversation_log
from store import loop_writes
from store.conversations import NewConversation
from tests.conftest import running_stack
from tests.test_kept_timer import ECO
from tests.test_log_ahead import eco_turns
from workflows.contracts import Message


@pytest.mark.asyncio
async def test_a_message_while_another_process_writes_waits_in_a_thread_not_on_the_loop(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine, ECO) as http:
        conversation = await eco_turns(http, "busy", 1)
        locker = sqlite3.connect(engine.url.database, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # the write lock, as another process's writer holds it
        try:
            body = {"contact_id": "busy", "message_id": "m1", "text": "1"}
            message = asyncio.create_task(http.post("/api/bots/eco/messages", json=body))
            # the loop is free meanwhile: a read of the same conversation is answered
            seen = await asyncio.wait_for(http.get(f"/api/conversations/{conversation}"), 10)
            assert seen.status_code == 200 and not message.done()
        finally:
            locker.rollback()
            locker.close()
        answer = await asyncio.wait_for(message, 30)
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
    assert answer.status_code == 200, answer.text
    assert [m["text"] for m in log][-2:] == ["1", answer.json()["replies"][0]["text"]]


def _turn(engine, conversation: str, seq: int, new: NewConversation | None) -> None:  # type: ignore[no-untyped-def]
    at = datetime.now(UTC)
    entries = [
        Message(seq=seq, sender="customer", text="1", message_id=f"m{seq}", at=at),
        Message(seq=seq + 1, sender="bot", text="Escolha uma opção", at=at),
    ]
    conversation_log.record_turn(engine, conversation, entries, new=new, on_the_loop=True)


def _in_the_database_file(path: str, conversation: str) -> int:
    """Entries the database file itself holds (what the WAL holds, not yet checkpointed, is
    not read: `immutable`)."""
    reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        query = "SELECT count(*) FROM messages WHERE conversation_id = ?"
        return int(reader.execute(query, (conversation,)).fetchone()[0])
    finally:
        reader.close()


def test_the_loop_never_checkpoints_itself_and_a_checkpoint_brings_its_turns_home(engine):
    conversation = uuid.uuid4().hex
    new = NewConversation(conversation, f"wf-{conversation}", "eco", 1, "c1", "bot")
    turns = loop_writes.CHECKPOINT_EVERY + 100  # more pages than SQLite's own 1,000
    for n in range(turns):
        _turn(engine, conversation, 2 * n + 1, new if n == 0 else None)
    assert loop_writes.checkpoint_due(engine)  # once, then not again until as many more
    assert not loop_writes.checkpoint_due(engine)
    assert _in_the_database_file(engine.url.database, conversation) == 0
    loop_writes.checkpoint(engine)
    assert _in_the_database_file(engine.url.database, conversation) == 2 * turns
