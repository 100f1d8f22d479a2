"""Sends that must go out once, and answers that must land where they belong, in a real Chromium.

A request is held in flight by a Playwright route (released by the test, never by a timer), so
what a user can do meanwhile is done for sure: type and send a second reply (both reach the
customer), double-click "Atender próximo" (one conversation is taken) or a menu option (the
choice is said once), switch to another conversation before a send fails (the text does not
follow to the other customer), start a "Nova conversa" (the old answer, of a message or of a
file, is not shown in it). A failure can also come after the server took the request (the route
lets it through, then answers 503 or drops the connection): the customer's retry of the same
text is then taken once.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.attachment_files import png
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import (
    TIMEOUT_MS,
    Console,
    browser,
    live_server,
    playwright_api,
    signed_in_agent,
)

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio
expect = playwright_api.expect

FLOW = """\
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: never}}
channels: {{web: true}}
start: inicio
blocks:
  inicio: {{type: message, text: "Olá! Bem-vindo à Loja.", next: menu}}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Encerrar, next: fim}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    check_hours: false
    on: {{finished: fim, closed: fim, unavailable: fim, voicemail: fim}}
    next: fim
  fim: {{type: end, text: Obrigado pelo contato!}}
"""
OPTION = "Falar com um especialista"
AGENT_MESSAGES = re.compile(r"/api/agent/conversations/[^/]+/messages")
UPLOADS = re.compile(r"/api/bots/loja/attachments\?")
OVERLOADED = {"detail": "overloaded", "code": "overloaded"}
# what the tests provoke on purpose, logged by Chromium as console errors
PROVOKED = re.compile(r"status of 503|net::ERR_FAILED")


async def loja(base: str) -> tuple[str, str]:
    """Suporte, its integration with `loja` (FLOW), Ana (Suporte, two at a time) and a channel
    credential: Ana's token and the connector's."""
    async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
        assert (await http.post("/api/omni/services", json={"name": "Suporte"})).is_success
        made = await http.post("/api/omni/integrations", json={"service": "Suporte", "bot": "loja"})
        published = await http.put(
            "/api/bots/loja",
            content=FLOW.format(key=made.json()["api_key"]),
            headers={"Content-Type": "text/yaml"},
        )
        assert published.is_success, published.text
        ana = {"name": "Ana", "services": ["Suporte"], "capacity": 2}
        token = (await http.post("/api/omni/agents", json=ana)).json()["token"]
        channel = await http.post("/api/bots/loja/channel-credentials", json={"name": "canal"})
        return token, channel.json()["token"]


async def into_queue(base: str, connector: str, contact: str) -> str:
    """The contact talks to the bot up to Suporte's queue: the conversation's id."""
    auth = {"Authorization": f"Bearer {connector}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as http:
        for i, text in enumerate(["oi", "1"]):
            body = {"contact_id": contact, "message_id": f"{contact}-{i}", "text": text}
            said = await http.post("/api/bots/loja/messages", json=body)
            assert said.status_code == 200, said.text
        assert said.json()["status"] == "waiting", said.text
        return str(said.json()["conversation_id"])


async def agent_texts(base: str, conversation_id: str) -> list[str]:
    """What the customer of the conversation got from the agent, from the log."""
    async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
        log = await http.get(f"/api/supervisor/conversations/{conversation_id}/messages")
        return [m["text"] for m in log.json() if m["from"] == "agent"]


async def transcript(base: str, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's messages as the server logged them (read with the admin token)."""
    async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
        log = await http.get(f"/api/conversations/{conversation_id}/messages")
    assert log.is_success, log.text
    return list(log.json())


class Hold:
    """A route handler: requests pass, except that the next one `arm`ed is held until
    `release` and then goes on (or is answered as `failure`, after the server had it or not).
    `seen`: the JSON body of each request (or, for a file, its query: name and message_id)."""

    def __init__(self, method: str = "POST") -> None:
        self.method = method
        self.seen: list[Any] = []
        self._armed = False
        self._gate = asyncio.Event()
        self._held = asyncio.Event()
        self._failure: str | None = None

    def arm(self, failure: str | None = None) -> None:
        """`failure`: None (it goes on), "before" (503, the server never had it), "after" (the
        server had it, the page gets a 503: an ambiguous failure), "abort" (no connection),
        "lost" (the server had it, the connection drops before the answer)."""
        self._armed, self._failure = True, failure
        self._gate, self._held = asyncio.Event(), asyncio.Event()

    async def held(self) -> None:
        await asyncio.wait_for(self._held.wait(), TIMEOUT_MS / 1000)

    def release(self) -> None:
        self._gate.set()

    async def __call__(self, route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != self.method:
            await route.continue_()
            return
        request = route.request
        json_body = "json" in (request.headers.get("content-type") or "")
        self.seen.append(
            request.post_data_json if json_body else dict(parse_qsl(urlsplit(request.url).query))
        )
        if not self._armed:
            await route.continue_()
            return
        self._armed = False
        failure, gate = self._failure, self._gate
        self._held.set()
        await gate.wait()
        if failure is None:
            await route.continue_()
        elif failure == "abort":
            await route.abort()
        elif failure == "lost":
            await route.fetch()
            await route.abort()
        else:
            if failure == "after":
                await route.fetch()
            await route.fulfill(status=503, json=OVERLOADED)


async def test_a_second_reply_sent_while_the_first_is_in_flight_reaches_the_customer(
    time_env, settings, engine, browser
):
    """Issue #1: each reply is its own message (the second is not deduplicated away); a failed
    send does not follow the agent to another conversation; a retry of the same text after an
    ambiguous failure is delivered once."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        token, connector = await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        agent = await signed_in_agent(context, console, token)
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        await into_queue(base, connector, "5511")
        await into_queue(base, connector, "5522")
        await expect(agent.locator(".queue-group[data-service='Suporte']")).to_contain_text(
            "2 aguardando"
        )
        tabs = agent.locator("#conv-tabs button")
        transcript = agent.locator("#transcript")
        for count in (1, 2):
            await agent.get_by_role("button", name="Atender próximo").click()
            await expect(tabs).to_have_count(count)
            await expect(tabs.nth(count - 1)).to_have_attribute("aria-pressed", "true")
        first, second = [await tab.get_attribute("data-conversation") for tab in await tabs.all()]
        hold = Hold()
        await agent.route(AGENT_MESSAGES, hold)
        box = agent.get_by_label("Mensagem ao cliente")

        # the first reply held in flight; a second one typed and sent meanwhile
        hold.arm()
        await box.fill("Primeira resposta")
        await box.press("Enter")
        await hold.held()
        await expect(box).to_have_value("")
        await box.fill("Segunda resposta")
        await box.press("Enter")
        await expect(transcript.locator(".msg.agent", has_text="Segunda resposta")).to_be_visible()
        hold.release()
        await expect(transcript.locator(".msg.agent", has_text="Primeira resposta")).to_be_visible()
        await expect(transcript.locator(".msg.agent")).to_have_count(2)
        assert await agent_texts(base, second) == ["Segunda resposta", "Primeira resposta"]

        # a send that fails after the agent went to the other conversation stays out of its box
        hold.arm(failure="before")
        await box.fill("Só para o segundo cliente")
        await box.press("Enter")
        await hold.held()
        await tabs.nth(0).click()
        await expect(tabs.nth(0)).to_have_attribute("aria-pressed", "true")
        hold.release()
        await expect(agent.locator("#toast")).to_contain_text(
            "A mensagem para a outra conversa não foi enviada"
        )
        await expect(box).to_have_value("")
        await expect(transcript).not_to_contain_text("Só para o segundo cliente")

        # an ambiguous failure (the server had it): the same text again is delivered once
        hold.arm(failure="after")
        await box.fill("Resposta ao primeiro")
        await box.press("Enter")
        await hold.held()
        hold.release()
        await expect(box).to_have_value("Resposta ao primeiro")  # back, to try again
        async with agent.expect_response(
            lambda r: AGENT_MESSAGES.search(r.url) and r.request.method == "POST"
        ) as retried:
            await box.press("Enter")
        assert (await retried.value).ok
        await expect(box).to_have_value("")
        await expect(agent.locator("#conv-error")).to_have_text("")
        await expect(
            transcript.locator(".msg.agent", has_text="Resposta ao primeiro")
        ).to_have_count(1)
        assert await agent_texts(base, first) == ["Resposta ao primeiro"]
        assert await agent_texts(base, second) == ["Segunda resposta", "Primeira resposta"]
        ids = [body["message_id"] for body in hold.seen]
        assert ids[-1] == ids[-2] and len(set(ids[:-1])) == len(ids) - 1, ids
        await context.close()
    assert [e for e in console.errors if not PROVOKED.search(e)] == []


async def test_a_double_click_on_atender_proximo_takes_one_conversation(
    time_env, settings, engine, browser
):
    """Issue #3: the button waits for its answer; the agent (room for two) gets one."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        token, connector = await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        agent = await signed_in_agent(context, console, token)
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        await into_queue(base, connector, "5511")
        await into_queue(base, connector, "5522")
        group = agent.locator(".queue-group[data-service='Suporte']")
        await expect(group).to_contain_text("2 aguardando")
        hold = Hold()
        await agent.route("**/api/agent/next", hold)
        hold.arm()
        button = agent.get_by_role("button", name="Atender próximo")
        await button.dblclick()
        await hold.held()
        await expect(button).to_be_disabled()  # while the answer is on its way
        hold.release()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
        await expect(group).to_contain_text("1 aguardando")
        await expect(button).to_be_enabled()  # someone still waits
        await expect(agent.locator("#conv-tabs button")).to_have_count(1)
        assert len(hold.seen) == 1
        await context.close()
    assert console.errors == []


async def test_a_double_click_on_a_menu_option_says_it_once(time_env, settings, engine, browser):
    """Issue #2: the options are disabled at the first click (the second would answer the next
    block); a send that fails enables them again."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        customer = await context.new_page()
        console.watch(customer)
        hold = Hold()
        await customer.route("**/api/bots/loja/messages", hold)
        await customer.goto("/chat/loja")
        text = customer.get_by_label("Mensagem", exact=True)

        # a send that fails: the options come back
        await text.fill("oi")
        await text.press("Enter")
        options = customer.locator(".msg.menu").last.get_by_role("button")
        await expect(options).to_have_count(2)
        hold.arm(failure="abort")
        await options.first.click()
        await hold.held()
        for option in await options.all():
            await expect(option).to_be_disabled()
        hold.release()
        await expect(customer.locator("#status-line")).to_have_text("Sem conexão. Tente de novo.")
        for option in await options.all():
            await expect(option).to_be_enabled()

        # a double click, the first send held: the choice goes out and shows once
        hold.arm()
        await customer.get_by_role("button", name=OPTION).dblclick()
        await hold.held()
        for option in await options.all():
            await expect(option).to_be_disabled()
        hold.release()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(customer.locator(".msg.customer", has_text=OPTION)).to_have_count(1)
        for option in await options.all():
            await expect(option).to_be_disabled()  # chosen: not offered again
        assert [body["text"] for body in hold.seen] == ["oi", OPTION, OPTION]  # the abort, once
        await context.close()
    assert [e for e in console.errors if not PROVOKED.search(e)] == []


async def test_an_answer_after_nova_conversa_stays_out_of_the_new_chat(
    time_env, settings, engine, browser
):
    """Issue #6: the answer to a send made before "Nova conversa" is not shown in the new chat,
    nor followed."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        customer = await context.new_page()
        console.watch(customer)
        hold = Hold()
        await customer.route("**/api/bots/loja/messages", hold)
        await customer.goto("/chat/loja")
        text = customer.get_by_label("Mensagem", exact=True)
        hold.arm()
        await text.fill("oi")
        await text.press("Enter")
        await hold.held()
        await customer.get_by_role("button", name="Nova conversa").click()
        await expect(customer.locator("#status-line")).to_have_text(
            "Nova conversa: envie uma mensagem para começar."
        )
        async with customer.expect_response("**/api/bots/loja/messages") as late:
            hold.release()
        old = (await (await late.value).json())["conversation_id"]
        await expect(customer.locator("#log .msg")).to_have_count(0)

        await text.fill("olá de novo")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()
        await expect(customer.locator(".msg.bot", has_text="Bem-vindo")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["olá de novo"])
        kept = await customer.evaluate("localStorage.getItem('transbordo.chat.loja.conversation')")
        assert kept and kept != old
        await context.close()
    assert console.errors == []


async def test_nova_conversa_while_the_session_is_asked_for_starts_a_new_contact(
    time_env, settings, engine, browser
):
    """The web session asked for by the first message arrives after "Nova conversa": the old
    chat's message goes out with it, but the new chat is another contact's conversation."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        customer = await context.new_page()
        console.watch(customer)
        hold = Hold()
        await customer.route("**/api/bots/loja/web-sessions", hold)
        await customer.goto("/chat/loja")
        text = customer.get_by_label("Mensagem", exact=True)
        hold.arm()
        await text.fill("oi")
        await text.press("Enter")
        await hold.held()
        await customer.get_by_role("button", name="Nova conversa").click()
        async with customer.expect_response("**/api/bots/loja/messages") as late:
            hold.release()
        old = (await (await late.value).json())["conversation_id"]
        async with customer.expect_response("**/api/bots/loja/messages") as sent:
            await text.fill("olá de novo")
            await text.press("Enter")
        new = (await (await sent.value).json())["conversation_id"]
        assert new != old
        assert [m["text"] for m in await transcript(base, new) if m["from"] == "customer"] == [
            "olá de novo"
        ]
        await expect(customer.locator(".msg.customer")).to_have_text(["olá de novo"])
        await context.close()
    assert console.errors == []


async def test_a_retry_of_a_failed_send_is_taken_once(time_env, settings, engine, browser):
    """A failed send keeps its message_id, and its text comes back to the box: sent again
    unchanged, it is the same message, so a failure that came after the server took it (a 503
    on the way back, a dropped connection) does not make the bot take the text twice. Another
    text, or a text sent after "Nova conversa", is a new message."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        customer = await context.new_page()
        console.watch(customer)
        hold = Hold()
        await customer.route("**/api/bots/loja/messages", hold)
        await customer.goto("/chat/loja")
        text = customer.get_by_label("Mensagem", exact=True)
        status = customer.locator("#status-line")

        # refused before the server had it; the customer writes another text instead
        hold.arm(failure="before")
        await text.fill("olá")
        await text.press("Enter")
        await hold.held()
        hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("olá")  # back, to try again
        await expect(customer.locator("#log .msg")).to_have_count(0)

        # the server took it, the page got a 503: the same text again is taken once
        hold.arm(failure="after")
        await text.fill("oi")
        await text.press("Enter")
        await hold.held()
        hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("oi")
        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.press("Enter")
        assert (await retried.value).ok
        conversation = (await (await retried.value).json())["conversation_id"]
        log = await transcript(base, conversation)
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi"]
        # the page has shown the whole transcript: nothing more is on its way
        await expect(customer.locator(f"#log [data-seq='{log[-1]['seq']}']")).to_be_attached()
        await expect(customer.locator(".msg.bot", has_text="Bem-vindo")).to_have_count(1)
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["oi"])
        await expect(text).to_have_value("")

        # the server took it, the connection dropped: the same text again is taken once
        hold.arm(failure="lost")
        await text.fill(OPTION)
        await text.press("Enter")
        await hold.held()
        hold.release()
        await expect(status).to_have_text("Sem conexão. Tente de novo.")
        await expect(text).to_have_value(OPTION)
        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.press("Enter")
        assert (await retried.value).ok
        log = await transcript(base, conversation)
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi", OPTION]
        await expect(customer.locator(f"#log [data-seq='{log[-1]['seq']}']")).to_be_attached()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", OPTION])

        # a text that failed, then "Nova conversa": sent in the new chat, it is a new message
        hold.arm(failure="before")
        await text.fill("tchau")
        await text.press("Enter")
        await hold.held()
        hold.release()
        await expect(text).to_have_value("tchau")
        await customer.get_by_role("button", name="Nova conversa").click()
        await expect(status).to_have_text("Nova conversa: envie uma mensagem para começar.")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["tchau"])

        ids = [body["message_id"] for body in hold.seen]
        texts = [body["text"] for body in hold.seen]
        assert texts == ["olá", "oi", "oi", OPTION, OPTION, "tchau", "tchau"], texts
        ola, oi, oi_again, option, option_again, tchau, tchau_again = ids
        assert (oi_again, option_again) == (oi, option), ids
        assert len({ola, oi, option, tchau, tchau_again}) == 5, ids
        await context.close()
    assert [e for e in console.errors if not PROVOKED.search(e)] == []


async def test_a_file_answered_after_nova_conversa_stays_out_of_the_new_chat(
    time_env, settings, engine, browser
):
    """The answer to a file sent before "Nova conversa" is not shown in the new chat, nor
    followed (as for a text)."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        customer = await context.new_page()
        console.watch(customer)
        hold = Hold()
        await customer.route(UPLOADS, hold)
        await customer.goto("/chat/loja")
        status = customer.locator("#status-line")
        hold.arm()
        await customer.locator("#file").set_input_files(
            files=[{"name": "foto.png", "mimeType": "image/png", "buffer": png(16, 16)}]
        )
        await hold.held()
        await expect(status).to_have_text("enviando foto.png…")
        await customer.get_by_role("button", name="Nova conversa").click()
        await expect(status).to_have_text("Nova conversa: envie uma mensagem para começar.")
        async with customer.expect_response(UPLOADS) as late:
            hold.release()
        assert (await late.value).ok
        old = (await (await late.value).json())["conversation_id"]
        assert old
        await expect(customer.locator("#log .msg")).to_have_count(0)

        text = customer.get_by_label("Mensagem", exact=True)
        async with customer.expect_response("**/api/bots/loja/messages") as sent:
            await text.fill("olá de novo")
            await text.press("Enter")
        new = (await (await sent.value).json())["conversation_id"]
        assert new and new != old
        log = await transcript(base, new)
        # the page has shown the new conversation's whole transcript, and nothing else
        await expect(customer.locator(f"#log [data-seq='{log[-1]['seq']}']")).to_be_attached()
        await expect(customer.locator("#log > *")).to_have_count(len(log))
        await expect(customer.locator(".msg.bot", has_text="Bem-vindo")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["olá de novo"])
        await expect(customer.locator("#log")).not_to_contain_text("foto.png")
        kept = await customer.evaluate("localStorage.getItem('transbordo.chat.loja.conversation')")
        assert kept == new
        assert [body["name"] for body in hold.seen] == ["foto.png"]
        await context.close()
    assert console.errors == []


async def test_the_supervisor_speaks_once_and_keeps_a_text_that_failed(
    time_env, settings, engine, browser
):
    """Issue #4: "Sussurrar"/"Falar com o cliente" wait for their answer (each request is another
    audited action); the text stays in the box when the action failed."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        token, connector = await loja(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        agent = await signed_in_agent(context, console, token)
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        conversation = await into_queue(base, connector, "5511")
        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")

        supervisor = await context.new_page()
        console.watch(supervisor)
        await supervisor.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        hold = Hold()
        await supervisor.route(
            re.compile(r"/api/supervisor/conversations/[^/]+/(whisper|barge-in)$"), hold
        )
        await supervisor.goto("/supervisor")
        await supervisor.get_by_label("Conversa", exact=True).fill(conversation)
        await supervisor.get_by_role("button", name="Acompanhar").click()
        live = supervisor.locator("#live-transcript")
        await expect(live).to_contain_text("Vou te transferir")
        text = supervisor.get_by_label("Mensagem do supervisor")
        whisper = supervisor.get_by_role("button", name="Sussurrar ao atendente")
        barge_in = supervisor.get_by_role("button", name="Falar com o cliente")

        # refused: the text stays for another try
        hold.arm(failure="before")
        await text.fill("Ofereça o parcelamento")
        await whisper.click()
        await hold.held()
        await expect(whisper).to_be_disabled()
        await expect(barge_in).to_be_disabled()
        hold.release()
        await expect(supervisor.locator("#live-error")).to_have_text(
            "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos."
        )
        await expect(text).to_have_value("Ofereça o parcelamento")
        await expect(whisper).to_be_enabled()
        await whisper.click()
        await expect(live.locator(".msg.whisper")).to_contain_text("Ofereça o parcelamento")
        await expect(text).to_have_value("")

        # a double click: one message to the customer, one action in the audit
        hold.arm()
        await text.fill("Olá, sou a supervisora.")
        await barge_in.dblclick()
        await hold.held()
        await expect(barge_in).to_be_disabled()
        hold.release()
        await expect(live).to_contain_text("Olá, sou a supervisora.")
        await expect(text).to_have_value("")
        await expect(supervisor.locator("#live-actions li")).to_have_count(2)
        assert [body["text"] for body in hold.seen] == [
            "Ofereça o parcelamento",
            "Ofereça o parcelamento",
            "Olá, sou a supervisora.",
        ]
        await context.close()
    assert [e for e in console.errors if not PROVOKED.search(e)] == []
