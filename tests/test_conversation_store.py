"""The conversation log and the voicemails in SQL, on SQLite and PostgreSQL: typed rows back,
and a record batch retried changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bots.loader import load_flow
from omni.models import ServiceCreate
from store import bots as bot_store
from store import conversations as conversation_log
from store import voicemails
from store.services import create_service, delete_service
from tests import log_rows
from transbordo.stack import stack_ring
from workflows.contracts import LogStatus, Message, RecordBatch

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def batch(status: str, *messages: Message) -> RecordBatch:
    """Conversation c1 of `NEW` (bot version 2, workflow id by contact)."""
    recorded = log_rows.batch("c1", status, *messages)
    return recorded.model_copy(update={"workflow_id": "conversation:loja:5511", "bot_version": 2})


def test_the_log_reads_back_typed_rows(any_engine: sa.Engine) -> None:
    asked = Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT)
    menu = Message(seq=2, sender="bot", kind="menu", text="Escolha", options=["1", "2"], at=AT)
    conversation_log.record_batch(any_engine, batch("bot", asked, menu))
    conversation_log.record_batch(any_engine, batch("bot", asked, menu))  # a retried activity

    row = conversation_log.get_conversation(any_engine, "c1")
    assert isinstance(row, conversation_log.ConversationRow)
    assert (row.bot, row.bot_version, row.status, row.block, row.last_seq) == (
        "loja",
        2,
        "bot",
        "menu",
        2,
    )
    assert row.created_at.tzinfo is not None
    assert conversation_log.latest_conversation(any_engine, "loja", "5511") == row
    assert conversation_log.get_conversation(any_engine, "c-none") is None

    transcript = conversation_log.messages_after(any_engine, "c1")
    assert all(isinstance(m, conversation_log.MessageRow) for m in transcript)
    assert [(m.seq, m.sender, m.kind) for m in transcript] == [
        (1, "customer", "text"),
        (2, "bot", "menu"),
    ]
    assert transcript[1].data == {"options": ["1", "2"]} and transcript[1].created_at == AT
    assert [m.seq for m in conversation_log.messages_after(any_engine, "c1", after=1)] == [2]

    answered = conversation_log.answer_of(any_engine, "loja", "5511", "m1")
    assert answered is not None
    conversation, replies = answered
    assert conversation == row and [m.text for m in replies] == ["Escolha"]
    assert conversation_log.answer_of(any_engine, "loja", "5511", "m-none") is None


NEW = conversation_log.NewConversation(
    conversation_id="c1",
    workflow_id="conversation:loja:5511",
    bot="loja",
    bot_version=2,
    contact_id="5511",
    status="bot",
)


def test_a_first_turn_writes_its_conversations_row_and_entries_together(
    any_engine: sa.Engine,
) -> None:
    asked = Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT)
    menu = Message(seq=2, sender="bot", kind="menu", text="Escolha", options=["1"], at=AT)
    conversation_log.record_turn(any_engine, "c1", [asked, menu], new=NEW)

    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and (row.bot, row.contact_id, row.status, row.last_seq) == (
        "loja",
        "5511",
        "bot",
        2,
    )
    assert [m.text for m in conversation_log.messages_after(any_engine, "c1")] == ["oi", "Escolha"]
    answered = conversation_log.answer_of(any_engine, "loja", "5511", "m1")
    assert answered is not None and [m.text for m in answered[1]] == ["Escolha"]


def test_a_first_turn_leaves_the_workflows_record_as_it_is(any_engine: sa.Engine) -> None:
    conversation_log.record_batch(any_engine, batch("waiting"))
    asked = Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT)
    conversation_log.record_turn(any_engine, "c1", [asked], new=NEW)

    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and (row.status, row.last_seq) == ("waiting", 1)
    assert [m.text for m in conversation_log.messages_after(any_engine, "c1")] == ["oi"]


def test_a_first_turn_with_its_status_orders_with_the_workflows_records(
    any_engine: sa.Engine,
) -> None:
    """The status a first message's Update gave is the row's, over a record the workflow took
    before that turn (`through` 0), not over one it took after (`through` 3)."""
    asked = Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT)
    menu = Message(seq=2, sender="bot", kind="menu", text="Escolha", options=["1"], at=AT)
    turn = LogStatus(status="bot", block="menu")
    conversation_log.record_turn(any_engine, "c1", [asked, menu], turn, new=NEW)
    fresh = conversation_log.get_conversation(any_engine, "c1")
    assert fresh is not None and (fresh.status, fresh.block, fresh.last_seq) == ("bot", "menu", 2)

    for through, expected in ((0, ("bot", "menu")), (3, ("waiting", "fila"))):
        conversation_id = f"c-{through}"
        record = log_rows.batch(conversation_id, "waiting", through=through)
        conversation_log.record_batch(any_engine, record.model_copy(update={"block": "fila"}))
        new = NEW.__class__(**{**asdict(NEW), "conversation_id": conversation_id})
        conversation_log.record_turn(any_engine, conversation_id, [asked, menu], turn, new=new)
        row = conversation_log.get_conversation(any_engine, conversation_id)
        assert row is not None and ((row.status, row.block), row.last_seq) == (expected, 2)
        written = conversation_log.messages_after(any_engine, conversation_id)
        assert [m.text for m in written] == ["oi", "Escolha"]


MENU = """
bot: loja
start: menu
blocks:
  menu:
    type: menu
    text: {text}
    options:
      - {{label: De novo, next: menu}}
"""


def test_a_first_message_asks_for_the_contacts_conversation_and_the_bots_version_at_once(
    any_engine: sa.Engine,
) -> None:
    """One query tells what a message without a known open conversation needs: the contact's
    newest conversation, and the bot's newest version (read whole only once per version)."""
    ask = conversation_log.latest_with_newest_version
    assert ask(any_engine, "loja", "5511") == (None, None)  # no such bot yet
    for text in ("Escolha", "Escolha de novo"):
        source = MENU.format(text=text)
        bot_store.publish(any_engine, load_flow(source), source)
    latest, newest = ask(any_engine, "loja", "5511")
    assert latest is None and newest is not None and newest[0] == 2
    version = bot_store.version_of(any_engine, "loja", *newest)
    assert version is not None and version.version == 2
    assert version.flow.blocks["menu"].text == "Escolha de novo"  # type: ignore[union-attr]
    read: list[str] = []
    sa.event.listen(any_engine, "before_cursor_execute", lambda *a: read.append(a[2]))
    assert bot_store.version_of(any_engine, "loja", *newest) is version
    assert read == []  # read once: then from memory

    conversation_log.record_turn(
        any_engine, "c1", [Message(seq=1, sender="customer", text="oi", at=AT)], new=NEW
    )
    latest, newest = ask(any_engine, "loja", "5511")
    assert latest is not None and (latest.id, latest.status) == ("c1", "bot")
    assert newest is not None and newest[0] == 2
    assert ask(any_engine, "loja", "5522")[0] is None  # another contact's


def _vm_steps(engine: sa.Engine, call: Callable[[], object]) -> int:
    """How many SQLite VM instructions `call`'s statements ran: the work a query does, whatever
    the machine's speed."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    watched: list[Any] = []

    def watch(conn: sa.Connection, *_: object) -> None:
        watched.append(conn.connection.dbapi_connection)
        watched[-1].set_progress_handler(count, 1)

    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)
        for connection in watched:
            connection.set_progress_handler(None, 1)
    return steps


def test_a_message_sent_again_is_looked_up_among_its_contacts_conversations(
    engine: sa.Engine,
) -> None:
    """Connectors whose message ids repeat across contacts (Telegram numbers them per chat):
    finding the answer to one contact's "1" does not walk every other contact's "1"."""

    def contacts(first: int, last: int) -> None:
        for i in range(first, last):
            asked = Message(seq=1, sender="customer", text="oi", message_id="1", at=AT)
            new = conversation_log.NewConversation(f"c{i}", f"w{i}", "loja", 1, f"55{i}", "bot")
            conversation_log.record_turn(engine, f"c{i}", [asked], new=new)

    def lookup(contact: str) -> Callable[[], None]:
        return lambda: _answered(conversation_log.answer_of(engine, "loja", contact, "1"))

    contacts(0, 1)
    alone = _vm_steps(engine, lookup("550"))
    contacts(1, 300)
    among_many = _vm_steps(engine, lookup("55299"))  # the newest: found last by message id
    assert 0 < among_many <= alone * 1.5, (alone, among_many)  # 40× before migration 0019


def _answered(found: object) -> None:
    assert found is not None


def test_ensure_conversation_never_overwrites_the_workflows_record(any_engine: sa.Engine) -> None:
    conversation_log.record_batch(any_engine, batch("waiting"))
    conversation_log.ensure_conversation(any_engine, **asdict(NEW))
    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and row.status == "waiting"


def test_voicemails_are_saved_once_and_outlive_their_service(any_engine: sa.Engine) -> None:
    service = create_service(any_engine, ServiceCreate(name="Suporte"), stack_ring())
    for _ in range(2):  # a retried activity
        voicemails.save(
            any_engine,
            voicemail_id="vm1",
            service_id=service.id,
            service_name=service.name,
            conversation_id="c1",
            bot="loja",
            contact_id="5511",
            text="me liguem",
        )
    [saved] = voicemails.listed(any_engine)
    assert isinstance(saved, voicemails.Voicemail)
    assert (saved.id, saved.service_id, saved.text) == ("vm1", service.id, "me liguem")
    assert voicemails.listed(any_engine, "Vendas") == []
    delete_service(any_engine, service.id)
    [kept] = voicemails.listed(any_engine, "Suporte")
    assert (kept.service_id, kept.service_name) == (None, "Suporte")
