"""SQLite turns written on the event loop (store/loop_writes.py). A database another process is
writing sends the write to a thread: the message is answered and logged once the lock goes,
reads are served meanwhile. The loop's own connection never checkpoints the WAL; the checkpoint
every CHECKPOINT_EVERY writes does, and the write after it (the WAL starts over) is a thread's."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.api.enums.v1 import EventType

from store import conversations as conversation_log
from store import loop_writes
from store.conversations import NewConversation
from tests.conftest import conversation_wid, running_stack
from tests.live import eventually
from tests.test_kept_timer import ECO
from tests.test_log_ahead import conversation_handle, eco_turns, history_of
from workflows.contracts import Message

UPDATE_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


@pytest.mark.asyncio
async def test_a_message_while_another_process_writes_is_answered_and_logged_once_it_is_done(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine, ECO) as http:
        conversation = await eco_turns(http, "busy", 2)
        assert loop_writes.is_open(engine)  # opened by the first turn's write, in a thread
        handle = conversation_handle(time_env, conversation_wid("eco", "busy"))
        locker = sqlite3.connect(engine.url.database, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # the write lock, as another process's writer holds it
        try:
            body = {"contact_id": "busy", "message_id": "m2", "text": "1"}
            message = asyncio.create_task(http.post("/api/bots/eco/messages", json=body))

            async def answered() -> bool | None:  # the Update is done: the API is writing
                events = await history_of(time_env, handle.id)
                done = [e.event_type for e in events].count(UPDATE_COMPLETED)
                return True if done == 3 else None

            await eventually(answered, "the third message's Update completed")
            # the write waits for the lock (in a thread): reads are answered meanwhile
            seen = await asyncio.wait_for(http.get(f"/api/conversations/{conversation}"), 10)
            assert seen.status_code == 200 and not message.done()
        finally:
            locker.rollback()
            locker.close()
        answer = await asyncio.wait_for(message, 30)
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
    assert answer.status_code == 200, answer.text
    assert [m["text"] for m in log][-2:] == ["1", answer.json()["replies"][0]["text"]]


def _turn(
    engine, conversation: str, seq: int, new: NewConversation | None, on_the_loop: bool = True
) -> None:  # type: ignore[no-untyped-def]
    at = datetime.now(UTC)
    entries = [
        Message(seq=seq, sender="customer", text="1", message_id=f"m{seq}", at=at),
        Message(seq=seq + 1, sender="bot", text="Escolha uma opção", at=at),
    ]
    conversation_log.record_turn(engine, conversation, entries, new=new, on_the_loop=on_the_loop)


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
    loop_writes.open_for_loop(engine)
    conversation = uuid.uuid4().hex
    new = NewConversation(conversation, f"wf-{conversation}", "eco", 1, "c1", "bot")
    turns = loop_writes.CHECKPOINT_EVERY + 100  # more pages than SQLite's own 1,000
    for n in range(turns):
        _turn(engine, conversation, 2 * n + 1, new if n == 0 else None)
    assert loop_writes.checkpoint_due(engine)  # once, then not again until as many more
    assert not loop_writes.checkpoint_due(engine)
    assert _in_the_database_file(engine.url.database, conversation) == 0
    locker = sqlite3.connect(engine.url.database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process writing: the loop's write gives way
    try:
        with pytest.raises(loop_writes.LoopBusy):
            _turn(engine, conversation, 2 * turns + 1, None)
    finally:
        locker.rollback()
        locker.close()
    loop_writes.checkpoint(engine)
    assert _in_the_database_file(engine.url.database, conversation) == 2 * turns
    with pytest.raises(loop_writes.LoopBusy):  # the WAL starts over: that write is a thread's
        _turn(engine, conversation, 2 * turns + 1, None)
    after = loop_writes.checkpointed(engine)  # as api/usecases/log_ahead.py's thread write
    _turn(engine, conversation, 2 * turns + 1, None, on_the_loop=False)
    loop_writes.thread_wrote(engine, after)
    _turn(engine, conversation, 2 * turns + 3, None)  # the next is the loop's again
