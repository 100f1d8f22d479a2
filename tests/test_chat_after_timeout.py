"""The web chat follows what the conversation did without the customer's message, in a real
Chromium and over real HTTP (uvicorn, the time-skipping test server, SQLite).

A menu whose `timeout_seconds` passed hands the customer over (or moves the flow on) by
itself. The customer stream carried the messages only, and "Vou te transferir…" is a bot's
text like an escape route's "Ainda está aí?", which leaves the menu asked: the old menu's
buttons stayed clickable, and a click went to a conversation waiting for a person (or answered
the next question with a menu's label). The stream now tells where the conversation stands
(`event: status`, asked with `?status=true`; resumed streams tell it again) and the page makes
the menus the conversation left inert.

During the Caixa Postal (voicemail) each message is accepted at once: the POST answers 200
with status `voicemail`, and the stream shows the customer's entry (with the page's own
`message_id`, which is how the page marks a send as applied) and the status, long before the
voicemail time's end says "Recebemos sua mensagem. Obrigado!".
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from api.routes.channel import _events
from api.stream_hub import READ_BATCH, LogCursor, StreamHub
from bots.loader import load_flow
from omni.care_words import CSAT_OPTIONS
from store import bots as bot_store
from store import conversations as conversation_log
from store.new_conversations import NewConversation
from store.standing import _STANDING, standing
from tests.conftest import admin_headers
from tests.live import DEADLINE_SECONDS, Event, skip_through, sse_events
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, playwright_api
from workflows.contracts import Message, RecordBatch

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio
expect = playwright_api.expect

FLOW = """\
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: never}}
channels: {{web: true}}
escape_routes:
  - {{inactivity_seconds: 30, text: Ainda está aí?}}
start: inicio
blocks:
  inicio: {{type: message, text: "Olá! Bem-vindo à Loja.", next: menu}}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Segunda via de boleto, next: cpf}}
    timeout_seconds: 60
    on_timeout: {on_timeout}
  cpf: {{type: question, text: Qual o seu CPF?, save_as: cpf, next: fim}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    check_hours: false
    on: {{finished: fim, closed: fim, unavailable: fim, voicemail: fim}}
    next: fim
  fim: {{type: end, text: Obrigado pelo contato!}}
"""
"""The menu's time out goes to `on_timeout`: `humano` (a handoff) or `cpf` (a question)."""
OPTIONS = ["Falar com um especialista", "Segunda via de boleto"]
HANDED_OVER = "Vou te transferir para um especialista."
VOICEMAIL_INVITE = "Deixe sua mensagem"


@dataclass
class Stage:
    base: str
    env: object  # the time-skipping WorkflowEnvironment

    async def skip(self, seconds: int) -> None:
        """The test server's clock jumps `seconds` (the menu's and the routes' timers fire)."""
        await skip_through(self.env, timedelta(seconds=seconds))  # type: ignore[arg-type]


@asynccontextmanager
async def stage(  # type: ignore[no-untyped-def]
    time_env,
    settings,
    engine,
    *,
    on_timeout: str = "humano",
    voicemail_seconds: int = 0,
    flow: str = FLOW,
) -> AsyncIterator[Stage]:
    """The app served live with a worker; Suporte (nobody online), its integration and `loja`
    (`flow`, FLOW by default, with `on_timeout`) published."""
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers()) as http,
    ):
        service = {"name": "Suporte", "voicemail_seconds": voicemail_seconds}
        assert (await http.post("/api/omni/services", json=service)).is_success
        made = await http.post("/api/omni/integrations", json={"service": "Suporte", "bot": "loja"})
        published = await http.put(
            "/api/bots/loja",
            content=flow.format(key=made.json()["api_key"], on_timeout=on_timeout),
            headers={"Content-Type": "text/yaml"},
        )
        assert published.is_success, published.text
        yield Stage(base, time_env)


@asynccontextmanager
async def chat_page(browser, base: str):  # type: ignore[no-untyped-def]
    """A customer's web chat page on `loja`; no console error may be logged."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    context = await browser.new_context(locale="pt-BR", base_url=base)
    try:
        page = await context.new_page()
        console.watch(page)
        await page.goto("/chat/loja")
        yield page
    finally:
        await context.close()
    assert console.errors == []


async def say(page, text: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_label("Mensagem", exact=True)
    await box.fill(text)
    await box.press("Enter")
    await expect(page.locator(".msg.customer[data-seq]", has_text=text)).to_have_count(1)


async def expect_menu(page, *, enabled: bool) -> None:  # type: ignore[no-untyped-def]
    options = page.locator(".msg.menu").last.get_by_role("button")
    await expect(options).to_have_count(len(OPTIONS))
    for option in await options.all():
        if enabled:
            await expect(option).to_be_enabled()
        else:
            await expect(option).to_be_disabled()


# --- the page --------------------------------------------------------------------------------


async def test_the_menu_is_inert_once_its_timeout_hands_the_customer_over(
    time_env, settings, engine, browser
):
    async with (
        stage(time_env, settings, engine) as s,
        chat_page(browser, s.base) as page,
    ):
        await say(page, "oi")
        await expect_menu(page, enabled=True)

        await s.skip(31)  # the escape route's reminder: the menu is still the question
        await expect(page.locator(".msg.bot", has_text="Ainda está aí?")).to_be_visible()
        await expect_menu(page, enabled=True)

        await s.skip(61)  # the menu's 60 s (from the reminder on): it hands over by itself
        await expect(page.locator(".msg.bot", has_text=HANDED_OVER)).to_be_visible()
        await expect_menu(page, enabled=False)

        await page.reload()  # the whole transcript again: the menu is still done
        await expect(page.locator(".msg.bot", has_text=HANDED_OVER)).to_be_visible()
        await expect_menu(page, enabled=False)


async def test_the_menu_is_inert_once_its_timeout_moves_the_flow_on(
    time_env, settings, engine, browser
):
    async with (
        stage(time_env, settings, engine, on_timeout="cpf") as s,
        chat_page(browser, s.base) as page,
    ):
        await say(page, "oi")
        await expect_menu(page, enabled=True)
        await s.skip(31)
        await expect(page.locator(".msg.bot", has_text="Ainda está aí?")).to_be_visible()
        await expect_menu(page, enabled=True)
        await s.skip(61)  # the flow asks the next question: a click would answer it
        await expect(page.locator(".msg.bot", has_text="Qual o seu CPF?")).to_be_visible()
        await expect_menu(page, enabled=False)


async def test_a_re_asked_menu_is_inert_once_its_timeout_moves_the_flow_on_even_after_a_reload(
    time_env, settings, engine, browser
):
    """A wrong answer asks the same menu again ("Opção inválida" and the menu): status and block
    stay, so only the menu the flow waits on (`menu` of `event: status`) tells the re-asked one
    live and, once the timeout moved the flow to `cpf`, inert; a reload reads it the same."""
    async with (
        stage(time_env, settings, engine, on_timeout="cpf") as s,
        chat_page(browser, s.base) as page,
    ):
        await say(page, "oi")
        await expect_menu(page, enabled=True)
        await say(page, "xyz")  # not an option: the same menu again
        await expect(page.locator(".msg.menu")).to_have_count(2)
        await expect_menu(page, enabled=True)
        await s.skip(31)
        await expect(page.locator(".msg.bot", has_text="Ainda está aí?")).to_be_visible()
        await expect_menu(page, enabled=True)
        await s.skip(61)  # the flow asks the CPF: a click would answer it with a label
        await expect(page.locator(".msg.bot", has_text="Qual o seu CPF?")).to_be_visible()
        await expect_menu(page, enabled=False)

        await page.reload()
        await expect(page.locator(".msg.bot", has_text="Qual o seu CPF?")).to_be_visible()
        await expect_menu(page, enabled=False)


# --- the stream ------------------------------------------------------------------------------


async def web_session(http: httpx.AsyncClient) -> dict[str, str]:
    """A web chat session's bearer header (its contact chosen by the server)."""
    made = await http.post("/api/bots/loja/web-sessions")
    assert made.is_success, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def post(http: httpx.AsyncClient, auth: dict[str, str], message_id: str, text: str) -> dict:
    said = await http.post(
        "/api/bots/loja/messages", json={"message_id": message_id, "text": text}, headers=auth
    )
    assert said.status_code == 200, said.text
    return dict(said.json())


async def until(events: AsyncIterator[Event], name: str) -> list[Event]:
    """The events up to and including the next `name` event."""
    seen = []
    async with asyncio.timeout(DEADLINE_SECONDS):
        async for event in events:
            seen.append(event)
            if event.event == name:
                return seen
    pytest.fail(f"the stream ended before a {name!r} event: {seen}")


async def until_status(events: AsyncIterator[Event], status: str) -> list[Event]:
    """The events up to and including the next `status` event saying `status` (each write of
    the row may tell one: a reminder moves the seq the status was taken at)."""
    seen = await until(events, "status")
    while seen[-1].data["status"] != status:
        seen += await until(events, "status")
    return seen


def texts(events: list[Event]) -> list[str]:
    return [e.data["text"] for e in events if e.event == "message"]


async def test_the_stream_tells_where_the_conversation_stands_and_again_when_resumed(
    time_env, settings, engine
):
    async with (
        stage(time_env, settings, engine) as s,
        httpx.AsyncClient(base_url=s.base, timeout=DEADLINE_SECONDS) as http,
    ):
        auth = await web_session(http)
        turn = await post(http, auth, "m1", "oi")
        path = f"/api/conversations/{turn['conversation_id']}/stream"
        async with http.stream("GET", path + "?status=true", headers=auth) as response:
            events = sse_events(response)
            first = await until(events, "status")
            assert texts(first)[:2] == ["oi", "Olá! Bem-vindo à Loja."]
            assert first[-1].data == {"status": "bot", "block": "menu", "seq": 3, "menu": 3}
            await s.skip(31)  # the reminder leaves the menu asked
            reminded = await until(events, "status")
            assert texts(reminded) == ["Ainda está aí?"]
            assert reminded[-1].data == {"status": "bot", "block": "menu", "seq": 4, "menu": 3}
            await s.skip(61)
            moved = await until(events, "status")
        assert texts(moved) == [HANDED_OVER]
        assert moved[-1].data == {"status": "waiting", "block": "humano", "seq": 5, "menu": None}
        assert moved[-1].id is None  # where the stream stands is the messages' `id:`
        last_id = moved[-2].id
        assert last_id == "5"

        # a reconnection: nothing sent twice, where it stands told again
        headers = {**auth, "Last-Event-ID": last_id}
        async with http.stream("GET", path + "?status=true", headers=headers) as response:
            resumed = await until(sse_events(response), "status")
        assert [(e.event, e.data) for e in resumed] == [
            ("status", {"status": "waiting", "block": "humano", "seq": 5, "menu": None})
        ]

        # a client that did not ask gets the transcript only, as before
        post_handoff = await post(http, auth, "m2", "alguém aí?")
        async with http.stream("GET", path, headers=headers) as response:
            plain = await until(sse_events(response), "message")
        assert [(e.event, e.data["text"]) for e in plain] == [("message", "alguém aí?")]
        assert post_handoff["status"] == "waiting"


async def test_each_voicemail_message_is_accepted_as_it_is_sent(time_env, settings, engine):
    async with (
        stage(time_env, settings, engine, voicemail_seconds=60) as s,
        httpx.AsyncClient(base_url=s.base, timeout=DEADLINE_SECONDS) as http,
    ):
        auth = await web_session(http)
        turn = await post(http, auth, "m1", "oi")
        path = f"/api/conversations/{turn['conversation_id']}/stream?status=true"
        async with http.stream("GET", path, headers=auth) as response:
            events = sse_events(response)
            await until(events, "status")
            chose = await post(http, auth, "m2", "1")  # nobody online: the Caixa Postal
            assert chose["status"] == "voicemail"
            assert VOICEMAIL_INVITE in chose["replies"][-1]["text"]
            while (await until(events, "status"))[-1].data["status"] != "voicemail":
                pass  # a read between the hand-over's steps may tell one before

            for i, words in enumerate(["Meu pedido 123 não chegou.", "Me liguem."], start=3):
                said = await post(http, auth, f"m{i}", words)
                assert (said["status"], said["replies"]) == ("voicemail", [])
                [entry] = [e.data for e in await until(events, "message") if e.event == "message"]
                # the page's own id: the send is applied (no longer "enviando")
                assert (entry["from"], entry["text"], entry["message_id"]) == (
                    "customer",
                    words,
                    f"m{i}",
                )

            await s.skip(61)  # the voicemail time ends: the service has the message
            rest = await until(events, "end")
        assert texts(rest) == ["Recebemos sua mensagem. Obrigado!", "Obrigado pelo contato!"]
        stored = await http.get("/api/omni/voicemails", headers=admin_headers())
        assert [v["text"] for v in stored.json()] == ["Meu pedido 123 não chegou.\nMe liguem."]


async def test_a_handoff_without_a_message_reaches_the_stream_on_sqlite(time_env, settings, engine):
    """A Humano block without `text`: the timeout's handoff writes the row and no message. The
    SQLite poller wakes the streams of a conversation whose row moved, not only new messages."""
    silent = FLOW.replace("    text: Vou te transferir para um especialista.\n", "")
    assert silent != FLOW and engine.dialect.name == "sqlite"
    async with (
        stage(time_env, settings, engine, flow=silent) as s,
        httpx.AsyncClient(base_url=s.base, timeout=DEADLINE_SECONDS) as http,
    ):
        auth = await web_session(http)
        turn = await post(http, auth, "m1", "oi")
        path = f"/api/conversations/{turn['conversation_id']}/stream?status=true"
        async with http.stream("GET", path, headers=auth) as response:
            events = sse_events(response)
            assert (await until(events, "status"))[-1].data["status"] == "bot"
            await s.skip(31)
            assert texts(await until(events, "message")) == ["Ainda está aí?"]
            await s.skip(61)
            moved = await until_status(events, "waiting")
        assert texts(moved) == []
        assert (moved[-1].data["status"], moved[-1].data["menu"]) == ("waiting", None)


# --- the log's row and the stream's reads -----------------------------------------------------


def _said(seq: int, kind: str = "text") -> Message:
    return Message(seq=seq, sender="bot", kind=kind, text=f"m{seq}", at=datetime.now(UTC))


def _batch(status: str, block: str, *messages: Message, through: int | None) -> RecordBatch:
    return RecordBatch(
        conversation_id="c", workflow_id="w", bot="loja", bot_version=1, contact_id="k",
        status=status, block=block, messages=list(messages), through=through,
    )  # type: ignore[arg-type]  # fmt: skip


async def test_every_record_of_the_status_moves_its_seq(any_engine):
    """A batch taken without `through` (a continued-as-new run before its first write ahead,
    the hand-over's first turn) writes the status as it comes: its seq is the batch's last;
    where it stands names the newest menu while the bot has it (SQLite and PostgreSQL)."""
    engine = any_engine
    said = (_said(1), _said(2, "menu"))
    conversation_log.record_batch(engine, _batch("bot", "menu", *said, through=None))
    assert conversation_log.get_conversation(engine, "c").status_seq == 2  # type: ignore[union-attr]
    there = standing(engine, "c")
    assert there is not None and (there.seq, there.menu) == (2, 2)  # no flow version: the newest
    conversation_log.record_batch(engine, _batch("bot", "menu", _said(3), through=4))
    conversation_log.record_batch(engine, _batch("waiting", "humano", _said(5), through=None))
    row = conversation_log.get_conversation(engine, "c")
    assert (row.status, row.block, row.status_seq) == ("waiting", "humano", 5)  # type: ignore[union-attr]
    there = standing(engine, "c")
    assert there is not None and (there.seq, there.menu) == (5, None)  # not the bot's: no menu
    conversation_log.record_batch(engine, _batch("in_service", "humano", through=None))
    row = conversation_log.get_conversation(engine, "c")  # no message: the seq stays
    assert (row.status, row.status_seq) == ("in_service", 5)  # type: ignore[union-attr]


@pytest.mark.parametrize("with_status", [False, True])
async def test_a_wake_reads_the_row_once_and_a_typing_signal_nothing(engine, with_status):
    """Per wake of a customer stream: the row (once: its status and its end) and the log."""
    conversation_log.record_batch(engine, _batch("bot", "menu", _said(1, "menu"), through=1))
    selects: list[str] = []

    def counted(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    hub = StreamHub()
    events = _events(
        engine, hub, "c", LogCursor(0), notes=False, reader=None, with_status=with_status
    )
    assert (await anext(events)).event == "message"
    if with_status:
        told = json.loads((await anext(events)).data)
        assert told == {"status": "bot", "block": "menu", "seq": 1, "menu": 1}
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        hub.typing("c", "agent")
        assert (await anext(events)).event == "typing"
        assert selects == []
        conversation_log.record_turn(engine, "c", [_said(2)])
        selects.clear()
        hub.log_changed("c")
        assert json.loads((await anext(events)).data)["seq"] == 2
        assert len(selects) == 2, selects
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
        await events.aclose()


# --- where it stands: unknown, the survey, the menus' index --------------------------------------


def _published(engine: sa.Engine) -> None:
    source = FLOW.format(key="k", on_timeout="humano")
    bot_store.publish(engine, load_flow(source), source)


async def test_a_first_turn_written_without_its_status_judges_no_menu(any_engine):
    """The API wrote a first turn with no status (its row's placeholder: status seq 0, no
    block): the stream tells no status (the page judges nothing inert) until the workflow's
    record says where the flow stands, then names its menu (SQLite and PostgreSQL)."""
    engine = any_engine
    _published(engine)
    new = NewConversation("c", "w", "loja", 1, "k", "bot")
    customer = Message(seq=1, sender="customer", text="oi", at=datetime.now(UTC))
    conversation_log.record_turn(engine, "c", [customer, _said(2), _said(3, "menu")], new=new)
    there = standing(engine, "c")
    assert there is not None and (there.seq, there.menu) == (0, None)
    hub = StreamHub()
    events = _events(engine, hub, "c", LogCursor(0), notes=False, reader=None, with_status=True)
    try:
        for seq in (1, 2, 3):
            assert json.loads((await anext(events)).data)["seq"] == seq
        conversation_log.record_batch(engine, _batch("bot", "menu", through=3))
        hub.log_changed("c")
        told = await anext(events)  # the first status the stream tells: the record's
        assert (told.event, json.loads(told.data)) == (
            "status",
            {"status": "bot", "block": "menu", "seq": 3, "menu": 3},
        )
    finally:
        await events.aclose()


async def test_a_menu_is_kept_live_unless_the_flow_is_known_to_have_left_it(any_engine):
    """The survey is known by its options as well as its text (a deploy may change the
    question); a block the flow version lacks keeps the newest menu live, as a version gone
    does; a block known not to wait on a menu names none."""
    engine = any_engine
    _published(engine)
    survey = Message(
        seq=1, sender="bot", kind="menu", text="Uma pergunta de outrora", options=CSAT_OPTIONS,
        at=datetime.now(UTC),
    )  # fmt: skip
    conversation_log.record_batch(engine, _batch("bot", "humano", survey, through=1))
    assert (there := standing(engine, "c")) is not None and there.menu == 1
    conversation_log.record_batch(engine, _batch("bot", "renamed", _said(2, "menu"), through=2))
    assert (there := standing(engine, "c")) is not None and there.menu == 2
    conversation_log.record_batch(engine, _batch("bot", "cpf", _said(3), through=3))
    assert (there := standing(engine, "c")) is not None and there.menu is None


async def test_the_standing_read_takes_the_bot_menus_index(any_engine):
    """Where a conversation stands reads its newest menu through `ix_messages_bot_menus`, not
    by walking every message since it (SQLite and PostgreSQL plans)."""
    engine = any_engine
    said = [_said(1, "menu"), *(_said(seq) for seq in range(2, 2002))]
    conversation_log.record_batch(engine, _batch("bot", "menu", *said, through=2001))
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    query = _STANDING.params(id="c").compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + str(query)))
    assert "ix_messages_bot_menus" in plan, plan
    assert (there := standing(engine, "c")) is not None and there.menu == 1


async def test_a_wake_reads_the_row_once_however_many_pages_of_log(engine):
    """A wake with more log than one read takes reads the row (where it stands) once."""
    conversation_log.record_batch(engine, _batch("bot", "menu", _said(1, "menu"), through=1))
    hub = StreamHub()
    events = _events(engine, hub, "c", LogCursor(0), notes=False, reader=None, with_status=True)
    rows_read: list[str] = []

    def counted(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM conversations" in statement:
            rows_read.append(statement)

    try:
        assert (await anext(events)).event == "message"
        assert (await anext(events)).event == "status"
        said = [_said(seq) for seq in range(2, READ_BATCH * 2 + 10)]
        conversation_log.record_batch(engine, _batch("bot", "menu", *said, through=len(said) + 1))
        sa.event.listen(engine, "before_cursor_execute", counted)
        hub.log_changed("c")
        for seq in range(2, READ_BATCH * 2 + 10):
            assert json.loads((await anext(events)).data)["seq"] == seq
        assert len(rows_read) == 1, rows_read
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
        await events.aclose()


async def test_the_parsed_versions_cache_takes_many_threads(engine, monkeypatch):
    """Streams ask for flow versions from worker threads: with more versions than the cache
    holds, none fails and each gets its own version; the most recently used stay."""
    monkeypatch.setattr(bot_store, "PARSED_CACHE_SIZE", 3)
    monkeypatch.setattr(bot_store, "_versions", type(bot_store._versions)())
    published = []
    for n in range(12):
        source = FLOW.format(key=f"k{n}", on_timeout="humano")
        published.append(bot_store.publish(engine, load_flow(source), source)[0])
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can

    def ask(n: int) -> int:
        wanted = published[n % len(published)]
        found = bot_store.version_of(engine, "loja", wanted.version, wanted.created_at)
        assert found is not None
        return found.version

    try:
        with ThreadPoolExecutor(16) as pool:
            versions = list(pool.map(ask, range(3000)))
    finally:
        sys.setswitchinterval(switching)
    assert versions == [published[n % 12].version for n in range(3000)]
    assert len(bot_store._versions) <= 3
    first = published[0]
    bot_store.version_of(engine, "loja", first.version, first.created_at)
    for later in published[1:3]:
        bot_store.version_of(engine, "loja", later.version, later.created_at)
    bot_store.version_of(engine, "loja", first.version, first.created_at)  # used again: kept
    newest = published[-1]
    bot_store.version_of(engine, "loja", newest.version, newest.created_at)
    assert ("loja", first.version, first.created_at) in bot_store._versions
