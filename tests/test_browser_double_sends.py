"""Sends that must go out once, and answers that must land where they belong, in a real Chromium.

A request is held in flight by a Playwright route (released by the test, never by a timer), so
what a user can do meanwhile is done for sure: type and send a second reply (both reach the
customer), double-click "Atender próximo" (one conversation is taken) or a menu option (the
choice is said once), switch to another conversation before a send fails (the text does not
follow to the other customer), start a "Nova conversa" (the old answer, of a message or of a
file, is not shown in it). A failure can also come after the server took the request (the route
lets it through, then answers 503 or drops the connection): the customer's retry of the same
text is then taken once, unless the page has shown the message meanwhile (then the same text
is a new message: a deliberate repeat). Two sends that both fail keep both texts and both ids,
even of the same text ("ok" twice: the stream showing one leaves the other waiting).
Two sends of the same text at once are told apart by their ids (the stream carries the ids of
the reader's own messages), so the failure of one shows on that one; a menu choice that failed
but that the server had shows as chosen once the stream shows it.

Every test plays in a `scene`: the app served live with its bot, a browser context, the console
errors of its pages and one `Hold`.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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
PESQUISA = """\
bot: pesquisa
channels: {web: true}
start: cliente
blocks:
  cliente:
    type: menu
    text: Você já é cliente?
    options:
      - {label: Sim, next: ofertas}
      - {label: Não, next: ofertas}
  ofertas:
    type: menu
    text: Quer receber ofertas?
    options:
      - {label: Sim, next: ligar}
      - {label: Não, next: ligar}
  ligar:
    type: menu
    text: Podemos ligar para você?
    options:
      - {label: Sim, next: fim}
      - {label: Não, next: fim}
  fim: {type: end, text: Obrigado pelas respostas!}
"""
"""Three questions in a row that the same answer ("Sim") answers."""
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


def agent_post(response) -> bool:  # type: ignore[no-untyped-def]
    """A reply the agent screen sent."""
    return bool(AGENT_MESSAGES.search(response.url)) and response.request.method == "POST"


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
    """A route handler: requests pass, except that the next one `arm`ed is held until a
    `release` (several may be held: each `release` lets the oldest go) and then goes on (or is
    answered as `failure`, after the server had it or not). `seen`: the JSON body of each
    request (or, for a file, its query: name and message_id)."""

    def __init__(self, method: str = "POST") -> None:
        self.method = method
        self.seen: list[Any] = []
        self._armed = False
        self._held = asyncio.Event()
        self._failure: str | None = None
        self._gates: deque[asyncio.Event] = deque()  # of the held requests, oldest first

    def arm(self, failure: str | None = None) -> None:
        """`failure`: None (it goes on), "before" (503, the server never had it), "after" (the
        server had it, the page gets a 503: an ambiguous failure), "late" (as "after", but the
        503 waits for one more `release`: the page may show the message first), "abort" (no
        connection), "lost" (the server had it, the connection drops before the answer)."""
        self._armed, self._failure = True, failure
        self._held = asyncio.Event()

    async def held(self) -> None:
        await asyncio.wait_for(self._held.wait(), TIMEOUT_MS / 1000)

    def release(self) -> None:
        self._gates.popleft().set()

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
        failure, gate, answer = self._failure, asyncio.Event(), asyncio.Event()
        self._gates.append(gate)
        if failure == "late":
            self._gates.append(answer)
        self._held.set()
        await gate.wait()
        if failure is None:
            await route.continue_()
        elif failure == "abort":
            await route.abort()
        elif failure == "lost":
            await route.fetch()
            await route.abort()
        elif failure == "late":
            await route.fetch()
            await answer.wait()
            await route.fulfill(status=503, json=OVERLOADED)
        else:
            if failure == "after":
                await route.fetch()
            await route.fulfill(status=503, json=OVERLOADED)


async def pesquisa(base: str) -> None:
    """The bot `pesquisa` (PESQUISA), on the web chat."""
    async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
        published = await http.put(
            "/api/bots/pesquisa", content=PESQUISA, headers={"Content-Type": "text/yaml"}
        )
        assert published.is_success, published.text


async def session_token(customer, bot: str) -> str:  # type: ignore[no-untyped-def]
    """The web session the chat page of `bot` keeps."""
    key = f"transbordo.chat.{bot}.session"
    return str(await customer.evaluate(f"JSON.parse(localStorage.getItem({key!r})).token"))


@dataclass
class Scene:
    """One test's stage: the app served live with a worker and its bot published (`loja`: with
    Ana's token and the channel credential), a browser context whose pages' console errors are
    kept, and the `Hold` the test routes its requests through."""

    base: str
    context: Any  # Playwright's BrowserContext
    console: Console
    token: str = ""
    connector: str = ""
    hold: Hold = field(default_factory=Hold)

    async def chat(  # type: ignore[no-untyped-def]
        self, bot: str, held: str | re.Pattern[str] | None = None
    ):
        """A customer's page on `bot`'s web chat, `held` (default: its messages) routed through
        `hold`: the page, its message box and its status line."""
        customer = await self.context.new_page()
        self.console.watch(customer)
        await customer.route(held or f"**/api/bots/{bot}/messages", self.hold)
        await customer.goto(f"/chat/{bot}")
        box = customer.get_by_label("Mensagem", exact=True)
        return customer, box, customer.locator("#status-line")

    async def agent(self):  # type: ignore[no-untyped-def]
        """Ana's screen (one more tab each time), signed in, available and live."""
        agent = await signed_in_agent(self.context, self.console, self.token)
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        return agent

    async def picked_up(self):  # type: ignore[no-untyped-def]
        """Ana's screen with the conversation of 5511 taken, her replies routed through `hold`:
        the page, and the conversation's id."""
        agent = await self.agent()
        conversation = await into_queue(self.base, self.connector, "5511")
        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
        await agent.route(AGENT_MESSAGES, self.hold)
        return agent, conversation

    async def send_held(  # type: ignore[no-untyped-def]
        self, box, words: str, failure: str | None = None
    ) -> None:
        """`words` typed in `box` and sent, the request held by `hold` until a `release` (then
        failing as `failure` says: `Hold.arm`)."""
        self.hold.arm(failure)
        await box.fill(words)
        await box.press("Enter")
        await self.hold.held()

    async def resend(self, path: str, token: str) -> httpx.Response:
        """The request `hold` saw last, posted again to `path` with `token`: the server had it
        after all (as a proxy would have sent it, the page having got a failure)."""
        async with httpx.AsyncClient(base_url=self.base) as http:
            auth = {"Authorization": f"Bearer {token}"}
            return await http.post(path, json=self.hold.seen[-1], headers=auth)


@asynccontextmanager
async def scene(  # type: ignore[no-untyped-def]
    time_env, settings, engine, browser, bot: str = "loja", *, provoked: bool = True
) -> AsyncIterator[Scene]:
    """The `Scene` of one test with `bot` (loja or pesquisa); its context is closed after the
    test, and then no page may have logged a console error but (with `provoked`) those of the
    failures the test provokes."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        token, connector = await loja(base) if bot == "loja" else ("", "")
        if bot == "pesquisa":
            await pesquisa(base)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        try:
            yield Scene(base, context, console, token, connector)
        finally:
            await context.close()
    assert [e for e in console.errors if not (provoked and PROVOKED.search(e))] == []


async def test_a_second_reply_sent_while_the_first_is_in_flight_reaches_the_customer(
    time_env, settings, engine, browser
):
    """Issue #1: each reply is its own message (the second is not deduplicated away); a failed
    send does not follow the agent to another conversation (it waits in its own); a retry of
    the same text after a failure is delivered once; a reply the server had despite the failure
    is shown from the stream, and nothing waits for a retry."""
    async with scene(time_env, settings, engine, browser) as s:
        agent = await s.agent()
        await into_queue(s.base, s.connector, "5511")
        await into_queue(s.base, s.connector, "5522")
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
        await agent.route(AGENT_MESSAGES, s.hold)
        box = agent.get_by_label("Mensagem ao cliente")

        # the first reply held in flight; a second one typed and sent meanwhile
        await s.send_held(box, "Primeira resposta")
        await expect(box).to_have_value("")
        await box.fill("Segunda resposta")
        await box.press("Enter")
        await expect(transcript.locator(".msg.agent", has_text="Segunda resposta")).to_be_visible()
        s.hold.release()
        await expect(transcript.locator(".msg.agent", has_text="Primeira resposta")).to_be_visible()
        await expect(transcript.locator(".msg.agent")).to_have_count(2)
        assert await agent_texts(s.base, second) == ["Segunda resposta", "Primeira resposta"]

        # a send that fails after the agent went to the other conversation stays out of its box
        await s.send_held(box, "Só para o segundo cliente", failure="before")
        await tabs.nth(0).click()
        await expect(tabs.nth(0)).to_have_attribute("aria-pressed", "true")
        s.hold.release()
        await expect(agent.locator("#toast")).to_contain_text(
            "A mensagem para a outra conversa não foi enviada"
        )
        await expect(box).to_have_value("")
        await expect(transcript).not_to_contain_text("Só para o segundo cliente")
        await tabs.nth(1).click()  # it waits in its own conversation, for a retry
        await expect(transcript.locator(".unsent")).to_have_text(
            "⚠ Não enviada: “Só para o segundo cliente”. Envie o mesmo texto para tentar de novo."
        )
        await tabs.nth(0).click()
        await expect(tabs.nth(0)).to_have_attribute("aria-pressed", "true")
        await expect(transcript.locator(".unsent")).to_have_count(0)

        # refused: back in the box, and the same text again is a retry under the same id
        await s.send_held(box, "Resposta ao primeiro", failure="before")
        s.hold.release()
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

        # an ambiguous failure (the server had it): the stream shows the reply, so nothing
        # waits for a retry (the same text typed again would be a new message)
        await s.send_held(box, "Mais alguma dúvida?", failure="after")
        s.hold.release()
        await expect(
            transcript.locator(".msg.agent", has_text="Mais alguma dúvida?")
        ).to_have_count(1)
        await expect(box).to_have_value("")
        await expect(agent.locator("#conv-error")).to_have_text("")
        assert await agent_texts(s.base, first) == ["Resposta ao primeiro", "Mais alguma dúvida?"]
        assert await agent_texts(s.base, second) == ["Segunda resposta", "Primeira resposta"]
        ids = [body["message_id"] for body in s.hold.seen]
        assert ids[3] == ids[4] and len(set(ids)) == len(ids) - 1, ids

        # a failure back in the box stays with its conversation when the agent goes to the
        # other one: the box is emptied (Enter there would send it to the wrong customer)
        await s.send_held(box, "Fica com o primeiro", failure="before")
        s.hold.release()
        await expect(box).to_have_value("Fica com o primeiro")
        await tabs.nth(1).click()
        await expect(tabs.nth(1)).to_have_attribute("aria-pressed", "true")
        await expect(box).to_have_value("")
        await tabs.nth(0).click()
        await expect(transcript.locator(".unsent")).to_have_text(
            "⚠ Não enviada: “Fica com o primeiro”. Envie o mesmo texto para tentar de novo."
        )


async def test_a_double_click_on_atender_proximo_takes_one_conversation(
    time_env, settings, engine, browser
):
    """Issue #3: the button waits for its answer; the agent (room for two) gets one."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        await into_queue(s.base, s.connector, "5511")
        await into_queue(s.base, s.connector, "5522")
        group = agent.locator(".queue-group[data-service='Suporte']")
        await expect(group).to_contain_text("2 aguardando")
        await agent.route("**/api/agent/next", s.hold)
        s.hold.arm()
        button = agent.get_by_role("button", name="Atender próximo")
        await button.dblclick()
        await s.hold.held()
        await expect(button).to_be_disabled()  # while the answer is on its way
        s.hold.release()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
        await expect(group).to_contain_text("1 aguardando")
        await expect(button).to_be_enabled()  # someone still waits
        await expect(agent.locator("#conv-tabs button")).to_have_count(1)
        assert len(s.hold.seen) == 1


async def test_a_double_click_on_a_menu_option_says_it_once(time_env, settings, engine, browser):
    """Issue #2: the options are disabled at the first click (the second would answer the next
    block); a send that fails enables them again."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, _ = await s.chat("loja")

        # a send that fails: the options come back
        await text.fill("oi")
        await text.press("Enter")
        options = customer.locator(".msg.menu").last.get_by_role("button")
        await expect(options).to_have_count(2)
        s.hold.arm(failure="abort")
        await options.first.click()
        await s.hold.held()
        for option in await options.all():
            await expect(option).to_be_disabled()
        s.hold.release()
        await expect(customer.locator("#status-line")).to_have_text("Sem conexão. Tente de novo.")
        for option in await options.all():
            await expect(option).to_be_enabled()

        # a double click, the first send held: the choice goes out and shows once
        s.hold.arm()
        await customer.get_by_role("button", name=OPTION).dblclick()
        await s.hold.held()
        for option in await options.all():
            await expect(option).to_be_disabled()
        s.hold.release()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(customer.locator(".msg.customer", has_text=OPTION)).to_have_count(1)
        for option in await options.all():
            await expect(option).to_be_disabled()  # chosen: not offered again
        assert [body["text"] for body in s.hold.seen] == ["oi", OPTION, OPTION]  # the abort, once


async def test_an_answer_after_nova_conversa_stays_out_of_the_new_chat(
    time_env, settings, engine, browser
):
    """Issue #6: the answer to a send made before "Nova conversa" is not shown in the new chat,
    nor followed."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        customer, text, _ = await s.chat("loja")
        await s.send_held(text, "oi")
        await customer.get_by_role("button", name="Nova conversa").click()
        await expect(customer.locator("#status-line")).to_have_text(
            "Nova conversa: envie uma mensagem para começar."
        )
        async with customer.expect_response("**/api/bots/loja/messages") as late:
            s.hold.release()
        old = (await (await late.value).json())["conversation_id"]
        await expect(customer.locator("#log .msg")).to_have_count(0)

        await text.fill("olá de novo")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()
        await expect(customer.locator(".msg.bot", has_text="Bem-vindo")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["olá de novo"])
        kept = await customer.evaluate("localStorage.getItem('transbordo.chat.loja.conversation')")
        assert kept and kept != old


async def test_nova_conversa_while_the_session_is_asked_for_starts_a_new_contact(
    time_env, settings, engine, browser
):
    """The web session asked for by the first message arrives after "Nova conversa": the old
    chat's message goes out with it, but the new chat is another contact's conversation."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        customer, text, _ = await s.chat("loja", "**/api/bots/loja/web-sessions")
        await s.send_held(text, "oi")
        await customer.get_by_role("button", name="Nova conversa").click()
        async with customer.expect_response("**/api/bots/loja/messages") as late:
            s.hold.release()
        old = (await (await late.value).json())["conversation_id"]
        async with customer.expect_response("**/api/bots/loja/messages") as sent:
            await text.fill("olá de novo")
            await text.press("Enter")
        new = (await (await sent.value).json())["conversation_id"]
        assert new != old
        assert [m["text"] for m in await transcript(s.base, new) if m["from"] == "customer"] == [
            "olá de novo"
        ]
        await expect(customer.locator(".msg.customer")).to_have_text(["olá de novo"])


async def test_a_retry_of_a_failed_send_is_taken_once(time_env, settings, engine, browser):
    """A failed send keeps its message_id, and its text comes back to the box: sent again
    unchanged, it is the same message, so a failure that came after the server took it (a 503
    on the way back) does not make the bot take the text twice. Once the conversation's stream
    shows a message that failed (a dropped connection after the server took it), it was sent:
    nothing waits for a retry. Another text, or a text sent after "Nova conversa", is a new
    message."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, status = await s.chat("loja")

        # refused before the server had it; the customer writes another text instead
        await s.send_held(text, "olá", failure="before")
        s.hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("olá")  # back, to try again
        await expect(customer.locator("#log .msg")).to_have_count(0)

        # the server took it, the page got a 503: the same text again is taken once
        await s.send_held(text, "oi", failure="after")
        s.hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("oi")
        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.press("Enter")
        assert (await retried.value).ok
        conversation = (await (await retried.value).json())["conversation_id"]
        log = await transcript(s.base, conversation)
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi"]
        # the page has shown the whole transcript: nothing more is on its way
        await expect(customer.locator(f"#log [data-seq='{log[-1]['seq']}']")).to_be_attached()
        await expect(customer.locator(".msg.bot", has_text="Bem-vindo")).to_have_count(1)
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["oi"])
        await expect(text).to_have_value("")

        # the server took it, the connection dropped: the stream shows it, so it was sent
        await s.send_held(text, OPTION, failure="lost")
        s.hold.release()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", OPTION])
        await expect(status).to_have_text("")
        await expect(text).to_have_value("")
        log = await transcript(s.base, conversation)
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi", OPTION]

        # a text that failed, then "Nova conversa": sent in the new chat, it is a new message
        await s.send_held(text, "tchau", failure="before")
        s.hold.release()
        await expect(text).to_have_value("tchau")
        await customer.get_by_role("button", name="Nova conversa").click()
        await expect(status).to_have_text("Nova conversa: envie uma mensagem para começar.")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["tchau"])

        ids = [body["message_id"] for body in s.hold.seen]
        texts = [body["text"] for body in s.hold.seen]
        assert texts == ["olá", "oi", "oi", OPTION, "tchau", "tchau"], texts
        ola, oi, oi_again, option, tchau, tchau_again = ids
        assert oi_again == oi, ids
        assert len({ola, oi, option, tchau, tchau_again}) == 5, ids


async def test_a_file_answered_after_nova_conversa_stays_out_of_the_new_chat(
    time_env, settings, engine, browser
):
    """The answer to a file sent before "Nova conversa" is not shown in the new chat, nor
    followed (as for a text)."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        customer, text, status = await s.chat("loja", UPLOADS)
        s.hold.arm()
        await customer.locator("#file").set_input_files(
            files=[{"name": "foto.png", "mimeType": "image/png", "buffer": png(16, 16)}]
        )
        await s.hold.held()
        await expect(status).to_have_text("enviando foto.png…")
        await customer.get_by_role("button", name="Nova conversa").click()
        await expect(status).to_have_text("Nova conversa: envie uma mensagem para começar.")
        async with customer.expect_response(UPLOADS) as late:
            s.hold.release()
        assert (await late.value).ok
        old = (await (await late.value).json())["conversation_id"]
        assert old
        await expect(customer.locator("#log .msg")).to_have_count(0)

        async with customer.expect_response("**/api/bots/loja/messages") as sent:
            await text.fill("olá de novo")
            await text.press("Enter")
        new = (await (await sent.value).json())["conversation_id"]
        assert new and new != old
        log = await transcript(s.base, new)
        # the page has shown the new conversation's whole transcript, and nothing else
        await expect(customer.locator(f"#log [data-seq='{log[-1]['seq']}']")).to_be_attached()
        await expect(customer.locator("#log > *")).to_have_count(len(log))
        await expect(customer.locator(".msg.bot", has_text="Bem-vindo")).to_have_count(1)
        await expect(customer.locator(".msg.customer")).to_have_text(["olá de novo"])
        await expect(customer.locator("#log")).not_to_contain_text("foto.png")
        kept = await customer.evaluate("localStorage.getItem('transbordo.chat.loja.conversation')")
        assert kept == new
        assert [body["name"] for body in s.hold.seen] == ["foto.png"]


async def test_the_supervisor_speaks_once_and_keeps_a_text_that_failed(
    time_env, settings, engine, browser
):
    """Issue #4: "Sussurrar"/"Falar com o cliente" wait for their answer (each request is another
    audited action); the text stays in the box when the action failed."""
    async with scene(time_env, settings, engine, browser) as s:
        _, conversation = await s.picked_up()

        supervisor = await s.context.new_page()
        s.console.watch(supervisor)
        await supervisor.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        await supervisor.route(
            re.compile(r"/api/supervisor/conversations/[^/]+/(whisper|barge-in)$"), s.hold
        )
        await supervisor.goto("/supervisor")
        await supervisor.get_by_label("Conversa", exact=True).fill(conversation)
        await supervisor.get_by_role("button", name="Acompanhar", exact=True).click()
        live = supervisor.locator("#live-transcript")
        await expect(live).to_contain_text("Vou te transferir")
        text = supervisor.get_by_label("Mensagem do supervisor")
        whisper = supervisor.get_by_role("button", name="Sussurrar ao atendente")
        barge_in = supervisor.get_by_role("button", name="Falar com o cliente")

        # refused: the text stays for another try
        s.hold.arm(failure="before")
        await text.fill("Ofereça o parcelamento")
        await whisper.click()
        await s.hold.held()
        await expect(whisper).to_be_disabled()
        await expect(barge_in).to_be_disabled()
        s.hold.release()
        await expect(supervisor.locator("#live-error")).to_have_text(
            "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos."
        )
        await expect(text).to_have_value("Ofereça o parcelamento")
        await expect(whisper).to_be_enabled()
        await whisper.click()
        await expect(live.locator(".msg.whisper")).to_contain_text("Ofereça o parcelamento")
        await expect(text).to_have_value("")

        # a double click: one message to the customer, one action in the audit
        s.hold.arm()
        await text.fill("Olá, sou a supervisora.")
        await barge_in.dblclick()
        await s.hold.held()
        await expect(barge_in).to_be_disabled()
        s.hold.release()
        await expect(live).to_contain_text("Olá, sou a supervisora.")
        await expect(text).to_have_value("")
        await expect(supervisor.locator("#live-actions li")).to_have_count(2)
        assert [body["text"] for body in s.hold.seen] == [
            "Ofereça o parcelamento",
            "Ofereça o parcelamento",
            "Olá, sou a supervisora.",
        ]


async def test_two_sends_that_fail_in_flight_keep_both_texts_and_ids(
    time_env, settings, engine, browser
):
    """A second text sent while the first is in flight, and both fail: the first comes back to
    the box, the second (the box is taken) stays in the log, quoted; each, sent again, is a
    retry under its own id, so the first, which the server had taken, is taken once. With no
    conversation yet, the second leaves only once the first has ended
    (tests/test_browser_chat_box.py)."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, status = await s.chat("loja")
        unsent = customer.locator("#log .msg.unsent")

        await s.send_held(text, "oi", failure="after")  # the server takes it, the page gets a 503
        await text.fill(OPTION)  # sent meanwhile: it waits for the first (no conversation yet)
        await text.press("Enter")
        s.hold.arm("abort")
        s.hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("oi")  # back, to try again
        await s.hold.held()  # the second left once the first had ended
        s.hold.release()
        await expect(status).to_have_text("Sem conexão. Tente de novo.")
        await expect(unsent).to_have_text(
            f"Não enviada: “{OPTION}”. Envie o mesmo texto para tentar de novo."
        )
        await expect(text).to_have_value("oi")

        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.press("Enter")
        assert (await retried.value).ok
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()
        await expect(unsent).to_have_count(1)  # still waiting for its retry
        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.fill(OPTION)
            await text.press("Enter")
        assert (await retried.value).ok
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(unsent).to_have_count(0)
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", OPTION])
        conversation = (await (await retried.value).json())["conversation_id"]
        log = await transcript(s.base, conversation)
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi", OPTION]

        texts = [body["text"] for body in s.hold.seen]
        assert texts == ["oi", OPTION, "oi", OPTION], texts
        oi, option, oi_again, option_again = [body["message_id"] for body in s.hold.seen]
        assert (oi_again, option_again) == (oi, option) and oi != option, s.hold.seen


async def test_a_repeat_of_a_failed_text_the_stream_showed_is_a_new_answer(
    time_env, settings, engine, browser
):
    """A send of "Sim" fails, but the server had it: once the stream shows it (and the next
    question), its id is forgotten and the box is free; "Sim" sent again answers the new
    question (under the old id the server would deduplicate it, and the bot would wait
    forever)."""
    async with scene(time_env, settings, engine, browser, "pesquisa") as s:
        customer, text, status = await s.chat("pesquisa")
        await text.fill("oi")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Você já é cliente?")).to_be_visible()

        # refused on the way: back in the box, its id kept
        await s.send_held(text, "Sim", failure="before")
        s.hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("Sim")
        # ... but the server had it after all (the same request, as a proxy would have sent it)
        session = await session_token(customer, "pesquisa")
        taken = await s.resend("/api/bots/pesquisa/messages", session)
        assert taken.status_code == 200, taken.text
        await expect(customer.locator(".msg.bot", has_text="Quer receber ofertas?")).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", "Sim"])
        await expect(text).to_have_value("")  # sent: nothing waits for a retry
        await expect(status).to_have_text("")

        # the same answer to the next question is a new message
        await text.fill("Sim")
        await text.press("Enter")
        await expect(
            customer.locator(".msg.bot", has_text="Podemos ligar para você?")
        ).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", "Sim", "Sim"])
        conversation = taken.json()["conversation_id"]
        log = await transcript(s.base, conversation)
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi", "Sim", "Sim"]
        ids = [body["message_id"] for body in s.hold.seen]
        assert [body["text"] for body in s.hold.seen] == ["oi", "Sim", "Sim"], s.hold.seen
        assert len(set(ids)) == 3, ids


async def test_a_send_the_stream_shows_before_its_failure_was_taken(
    time_env, settings, engine, browser
):
    """The stream shows "Sim" (and the next question) while its send is still in flight, then
    the send fails: it was taken, so it is neither kept for a retry nor put back in the box,
    and "Sim" sent again answers the new question."""
    async with scene(time_env, settings, engine, browser, "pesquisa") as s:
        customer, text, status = await s.chat("pesquisa")
        await text.fill("oi")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Você já é cliente?")).to_be_visible()

        await s.send_held(text, "Sim", failure="late")
        s.hold.release()  # the server takes it; its answer is held
        await expect(customer.locator(".msg.bot", has_text="Quer receber ofertas?")).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", "Sim"])
        await expect(status).to_have_text("enviando…")
        s.hold.release()  # now the page gets a 503
        await expect(status).to_have_text("")
        await expect(text).to_have_value("")

        await text.fill("Sim")
        await text.press("Enter")
        await expect(
            customer.locator(".msg.bot", has_text="Podemos ligar para você?")
        ).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", "Sim", "Sim"])
        ids = [body["message_id"] for body in s.hold.seen]
        assert [body["text"] for body in s.hold.seen] == ["oi", "Sim", "Sim"], s.hold.seen
        assert len(set(ids)) == 3, ids


async def test_two_replies_that_fail_in_flight_keep_both_texts_and_ids(
    time_env, settings, engine, browser
):
    """A second reply sent while the first is in flight, and both fail: the first comes back to
    the box, the second (the box is taken) stays in the transcript, quoted; each, sent again,
    is a retry under its own id."""
    async with scene(time_env, settings, engine, browser) as s:
        agent, conversation = await s.picked_up()
        box = agent.get_by_label("Mensagem ao cliente")
        transcript_ = agent.locator("#transcript")
        unsent = transcript_.locator(".unsent")

        await s.send_held(box, "Primeira resposta", failure="abort")
        await s.send_held(box, "Segunda resposta", failure="before")
        s.hold.release()
        await expect(box).to_have_value("Primeira resposta")  # back, to try again
        s.hold.release()
        await expect(agent.locator("#conv-error")).to_have_text(
            "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos."
        )
        await expect(unsent).to_have_text(
            "⚠ Não enviada: “Segunda resposta”. Envie o mesmo texto para tentar de novo."
        )
        await expect(box).to_have_value("Primeira resposta")

        async with agent.expect_response(agent_post) as retried:
            await box.press("Enter")
        assert (await retried.value).ok
        await expect(
            transcript_.locator(".msg.agent", has_text="Primeira resposta")
        ).to_be_visible()
        await expect(unsent).to_have_count(1)  # still waiting for its retry
        async with agent.expect_response(agent_post) as retried:
            await box.fill("Segunda resposta")
            await box.press("Enter")
        assert (await retried.value).ok
        await expect(unsent).to_have_count(0)
        await expect(transcript_.locator(".msg.agent")).to_have_count(2)
        assert await agent_texts(s.base, conversation) == ["Primeira resposta", "Segunda resposta"]
        first, second, first_again, second_again = [body["message_id"] for body in s.hold.seen]
        assert (first_again, second_again) == (first, second) and first != second, s.hold.seen


async def test_a_repeat_of_a_failed_reply_the_stream_showed_is_a_new_message(
    time_env, settings, engine, browser
):
    """A reply fails, but the server had it: once the agent stream shows it, its id is
    forgotten and the box is free; the same text sent again is a new message (under the old id
    it would be deduplicated away, and the customer would not get it)."""
    async with scene(time_env, settings, engine, browser) as s:
        agent, conversation = await s.picked_up()
        box = agent.get_by_label("Mensagem ao cliente")
        replies = agent.locator("#transcript .msg.agent", has_text="Pode confirmar?")

        await s.send_held(box, "Pode confirmar?", failure="before")
        s.hold.release()
        await expect(box).to_have_value("Pode confirmar?")  # back, to try again
        # ... but the server had it after all (the same request, as a proxy would have sent it)
        taken = await s.resend(f"/api/agent/conversations/{conversation}/messages", s.token)
        assert taken.is_success, taken.text
        await expect(replies).to_have_count(1)
        await expect(box).to_have_value("")  # sent: nothing waits for a retry

        async with agent.expect_response(agent_post) as again:
            await box.fill("Pode confirmar?")
            await box.press("Enter")
        assert (await again.value).ok
        await expect(replies).to_have_count(2)
        assert await agent_texts(s.base, conversation) == ["Pode confirmar?", "Pode confirmar?"]
        first, second = [body["message_id"] for body in s.hold.seen]
        assert first != second, s.hold.seen


async def test_the_same_text_twice_at_once_one_failing_shows_that_ones_failure(
    time_env, settings, engine, browser
):
    """ "ok" sent twice at once, the first held and then refused: the stream shows the second,
    which says nothing of the first (a send is known by its id, never by its text), so the
    first's failure shows (the status line, its text back in the box, no bubble left pending);
    sent again, it is a retry under its own id, and the customer said "ok" twice."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, status = await s.chat("loja")
        said = customer.locator(".msg.customer:not(.pending)")
        await text.fill("oi")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()

        await s.send_held(text, "ok", failure="before")
        async with customer.expect_response("**/api/bots/loja/messages") as second:
            await text.fill("ok")
            await text.press("Enter")
        assert (await second.value).ok
        await expect(said).to_have_text(["oi", "ok"])  # the second, from the stream
        s.hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(text).to_have_value("ok")  # back, to try again
        await expect(customer.locator(".msg.pending")).to_have_count(0)
        await expect(said).to_have_text(["oi", "ok"])

        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.press("Enter")
        assert (await retried.value).ok
        await expect(said).to_have_text(["oi", "ok", "ok"])
        await expect(status).to_have_text("")
        await expect(text).to_have_value("")
        log = await transcript(s.base, (await (await retried.value).json())["conversation_id"])
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi", "ok", "ok"]
        oi, held, other, again = [body["message_id"] for body in s.hold.seen]
        assert again == held and len({oi, held, other}) == 3, s.hold.seen


async def test_the_same_reply_from_two_tabs_one_failing_shows_that_ones_failure(
    time_env, settings, engine, browser
):
    """Ana, in two tabs, says "ok" in both at once; the first tab's is held, then refused. Its
    stream shows the other tab's "ok" (with that tab's id: Ana's own), which says nothing of
    its own send, so its failure shows: the error, the text back in its box; sent again, it is
    a retry under its own id, and the customer got "ok" twice."""
    async with scene(time_env, settings, engine, browser) as s:
        first, conversation = await s.picked_up()
        second = await s.agent()
        await expect(second.locator("#transcript")).to_contain_text("Vou te transferir")
        boxes = [tab.get_by_label("Mensagem ao cliente") for tab in (first, second)]
        replies = [tab.locator("#transcript .msg.agent", has_text="ok") for tab in (first, second)]

        await s.send_held(boxes[0], "ok", failure="before")
        async with second.expect_response(agent_post) as other:
            await boxes[1].fill("ok")
            await boxes[1].press("Enter")
        assert (await other.value).ok
        await expect(replies[0]).to_have_count(1)  # the other tab's, from the stream
        s.hold.release()
        await expect(first.locator("#conv-error")).to_have_text(
            "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos."
        )
        await expect(boxes[0]).to_have_value("ok")  # back, to try again

        async with first.expect_response(agent_post) as retried:
            await boxes[0].press("Enter")
        assert (await retried.value).ok
        for tab_replies in replies:
            await expect(tab_replies).to_have_count(2)
        await expect(boxes[0]).to_have_value("")
        await expect(first.locator("#conv-error")).to_have_text("")
        assert await agent_texts(s.base, conversation) == ["ok", "ok"]
        held, again = [body["message_id"] for body in s.hold.seen]
        other_id = (await other.value).request.post_data_json["message_id"]
        assert again == held and other_id != held, (s.hold.seen, other_id)


async def a_failed_menu_click(s: Any) -> tuple[Any, Any, Any, Any]:
    """The web chat's menu, a click on OPTION refused before the server had it: its options
    back (enabled). The page, its text box, its status line and the menu's options."""
    customer, text, status = await s.chat("loja")
    await text.fill("oi")
    await text.press("Enter")
    options = customer.locator(".msg.menu").last.get_by_role("button")
    await expect(options).to_have_count(2)
    s.hold.arm(failure="before")
    await customer.get_by_role("button", name=OPTION).click()
    await s.hold.held()
    s.hold.release()
    await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
    for option in await options.all():
        await expect(option).to_be_enabled()
    return customer, text, status, options


async def test_a_failed_menu_choice_typed_again_shows_as_chosen(
    time_env, settings, engine, browser
):
    """A click on a menu option fails; the customer types the option instead: that is the
    click's retry (its id), and once taken the options are disabled as after a click that went
    through (a later click must not answer the next question with this menu's option)."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, status, options = await a_failed_menu_click(s)
        await text.fill(OPTION)
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", OPTION])
        for option in await options.all():
            await expect(option).to_be_disabled()


async def test_a_failed_menu_choice_the_server_had_shows_as_chosen(
    time_env, settings, engine, browser
):
    """A click on a menu option fails (its options come back), but the server had it: once the
    stream shows the choice, the options are disabled as after a click that went through, and
    the failure's status line is gone."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, status, options = await a_failed_menu_click(s)
        # ... but the server had it after all (the same request, as a proxy would have sent it)
        taken = await s.resend("/api/bots/loja/messages", await session_token(customer, "loja"))
        assert taken.status_code == 200, taken.text
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(customer.locator(".msg.customer")).to_have_text(["oi", OPTION])
        for option in await options.all():
            await expect(option).to_be_disabled()  # chosen, as after a click that went through
        await expect(status).to_have_text("")
        await expect(text).to_have_value("")
        assert [body["text"] for body in s.hold.seen] == ["oi", OPTION]


async def test_the_same_text_failing_twice_keeps_both_failures(time_env, settings, engine, browser):
    """ "ok" (A) refused before the server had it, then "ok" (B), sent while A was in flight,
    taken by the server though the page got a 503: both failures show (A back in the box, B a
    line of the log); once the stream shows B, only B's line goes, A still waits in the box with
    its status line, and sent again it is a retry under A's id: the customer said "ok" twice."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, text, status = await s.chat("loja")
        said = customer.locator(".msg.customer:not(.pending)")
        unsent = customer.locator("#log .msg.unsent")
        await text.fill("oi")
        await text.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()

        await s.send_held(text, "ok", failure="before")
        await s.send_held(text, "ok", failure="before")
        s.hold.release()
        await expect(text).to_have_value("ok")  # A, back to try again
        s.hold.release()
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")
        await expect(unsent).to_have_text(
            "Não enviada: “ok”. Envie o mesmo texto para tentar de novo."
        )
        # ... but the server had B after all (the same request, as a proxy would have sent it)
        taken = await s.resend("/api/bots/loja/messages", await session_token(customer, "loja"))
        assert taken.status_code == 200, taken.text
        await expect(said).to_have_text(["oi", "ok"])  # B, from the stream
        await expect(unsent).to_have_count(0)
        await expect(text).to_have_value("ok")  # A still waits for its retry
        await expect(status).to_have_text("Não foi possível enviar (503). Tente de novo.")

        async with customer.expect_response("**/api/bots/loja/messages") as retried:
            await text.press("Enter")
        assert (await retried.value).ok
        await expect(said).to_have_text(["oi", "ok", "ok"])
        await expect(status).to_have_text("")
        await expect(text).to_have_value("")
        log = await transcript(s.base, taken.json()["conversation_id"])
        assert [m["text"] for m in log if m["from"] == "customer"] == ["oi", "ok", "ok"]
        oi, a, b, again = [body["message_id"] for body in s.hold.seen]
        assert again == a and len({oi, a, b}) == 3, s.hold.seen


async def test_the_same_reply_failing_twice_keeps_both_failures(
    time_env, settings, engine, browser
):
    """Ana's "ok" (A) refused before the server had it, then her "ok" (B), sent while A was in
    flight, taken by the server though the screen got a 503: both failures show (A back in the
    box, B a line of the transcript); once the stream shows B, only B's line goes, A still waits
    in the box, and sent again it is a retry under A's id: the customer got "ok" twice."""
    async with scene(time_env, settings, engine, browser) as s:
        agent, conversation = await s.picked_up()
        box = agent.get_by_label("Mensagem ao cliente")
        replies = agent.locator("#transcript .msg.agent", has_text="ok")
        unsent = agent.locator("#transcript .unsent")

        await s.send_held(box, "ok", failure="before")
        await s.send_held(box, "ok", failure="before")
        s.hold.release()
        await expect(box).to_have_value("ok")  # A, back to try again
        s.hold.release()
        await expect(agent.locator("#conv-error")).to_have_text(
            "O sistema está sobrecarregado no momento. Tente de novo em alguns segundos."
        )
        await expect(unsent).to_have_text(
            "⚠ Não enviada: “ok”. Envie o mesmo texto para tentar de novo."
        )
        # ... but the server had B after all (the same request, as a proxy would have sent it)
        taken = await s.resend(f"/api/agent/conversations/{conversation}/messages", s.token)
        assert taken.is_success, taken.text
        await expect(replies).to_have_count(1)  # B, from the stream
        await expect(unsent).to_have_count(0)
        await expect(box).to_have_value("ok")  # A still waits for its retry

        async with agent.expect_response(agent_post) as retried:
            await box.press("Enter")
        assert (await retried.value).ok
        await expect(replies).to_have_count(2)
        await expect(box).to_have_value("")
        await expect(unsent).to_have_count(0)
        assert await agent_texts(s.base, conversation) == ["ok", "ok"]
        a, b, again = [body["message_id"] for body in s.hold.seen]
        assert again == a and a != b, s.hold.seen
