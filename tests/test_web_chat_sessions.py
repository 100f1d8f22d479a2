"""The web chat when a limit refuses it, told truthfully in pt-BR.

No new session: too many web-chat sessions were issued to the customer's address
(`rate_limit_sessions_per_address`, a 429 `too_many_sessions` with Retry-After): the customer
reads why and when to try again, the text waits in the box, and a file chosen meanwhile says
the same (not "Sem conexão"). Too many requests of any kind from the address (the general
`rate_limit_per_address`, a 429 `rate_limited`) is not told as "too many new conversations".

A message refused: each limit that can answer it (api/limits.py; the 429's `limit` names it)
is said as what it is: the contact's own pace ("Muitas mensagens seguidas"), the bot busy with
everyone (`messages per bot`: not the customer typing fast), the messages of the whole internet
connection (`messages per address`).

Before, every one of these 429s was `rate_limited` with nothing saying which limit, and the chat
said "Muitas conversas novas…" for both refusals of a session and "Muitas mensagens seguidas"
for every refusal of a message.
"""

from __future__ import annotations

import re

import httpx
import pytest

from api.app import create_app
from tests.attachment_files import png
from tests.conftest import admin_headers, api_client, pydantic_client
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, playwright_api

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

FLOW = """
bot: loja
channels: {web: true}
start: oi
blocks:
  oi: {type: question, text: Olá! Como posso ajudar?, save_as: pedido, next: fim}
  fim: {type: end, text: Até logo!}
"""
REFUSED = (
    "Muitas conversas novas foram abertas a partir da sua conexão de internet em pouco tempo. "
    "Tente novamente em 1 minuto."
)
SESSION_429 = re.compile(r"status of 429 .*/web-sessions")
ANY_429 = "status of 429"
FROM_THE_CONNECTION = (
    "Muitas solicitações a partir da sua conexão de internet. Tente novamente em 1 minuto."
)
TOO_FAST = "Muitas mensagens seguidas. Aguarde um instante."
FILES_TOO_FAST = "Muitos envios seguidos. Aguarde um instante."
BOT_BUSY = "O atendimento está muito movimentado agora. Tente novamente em instantes."
MESSAGES_FROM_THE_CONNECTION = (
    "Muitas mensagens enviadas a partir da sua conexão de internet em pouco tempo. "
    "Tente novamente em 1 minuto."
)


async def _publish(http: httpx.AsyncClient) -> None:
    headers = {**admin_headers(), "Content-Type": "text/yaml"}
    put = await http.put("/api/bots/loja", content=FLOW, headers=headers)
    assert put.status_code in (200, 201), put.text


def _limited(answer: httpx.Response, code: str, limit: str) -> None:
    assert answer.status_code == 429, answer.text
    assert (answer.json()["code"], answer.json()["limit"]) == (code, limit)
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


async def test_the_sessions_limit_has_its_own_code(settings, engine, time_env) -> None:
    """A connector or a page can tell "too many new sessions from here" from "too many
    requests from here": both 429 with Retry-After, each with its own code and `limit`."""
    for setting, code, limit in (
        ("rate_limit_sessions_per_address", "too_many_sessions", "sessions per address"),
        ("rate_limit_per_address", "rate_limited", "requests per address"),
    ):
        strict = settings.model_copy(update={setting: "2/minute"})
        app = create_app(strict, engine=engine, client=pydantic_client(time_env))
        async with api_client(app, connector=False) as http:
            await _publish(http)
            for _ in range(2):
                opened = await http.post("/api/bots/loja/web-sessions")
                assert opened.status_code == 201, opened.text
            _limited(await http.post("/api/bots/loja/web-sessions"), code, limit)


async def test_a_refused_message_names_the_limit_that_refused_it(
    settings, engine, time_env
) -> None:
    """The contact's pace, the bot's and the address's are each named in the 429's `limit`."""
    strict = settings.model_copy(
        update={
            "rate_limit_messages_per_contact": "1/minute",
            "rate_limit_messages_per_bot": "2/minute",
            "rate_limit_messages_per_address": "4/minute",
        }
    )
    app = create_app(strict, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:  # no bot published: 404, but counted

        async def send(contact: str, n: int) -> httpx.Response:
            body = {"contact_id": contact, "message_id": f"m{n}", "text": "oi"}
            return await http.post("/api/bots/nada/messages", json=body)

        assert (await send("c1", 1)).status_code == 404
        _limited(await send("c1", 2), "rate_limited", "messages per contact")
        assert (await send("c2", 3)).status_code == 404
        _limited(await send("c3", 4), "rate_limited", "messages per bot")
        _limited(await send("c4", 5), "rate_limited", "messages per address")


async def test_a_refused_new_session_is_told_in_portuguese(  # type: ignore[no-untyped-def]
    time_env, settings, engine, browser, tmp_path
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    one_a_minute = settings.model_copy(update={"rate_limit_sessions_per_address": "1/minute"})
    async with live_server(time_env, one_a_minute, engine) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            put = await http.put(
                "/api/bots/loja",
                content=FLOW,
                headers={**admin_headers(), "Content-Type": "text/yaml"},
            )
            assert put.status_code in (200, 201), put.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/chat/loja")
        await page.get_by_label("Mensagem").fill("oi")
        await page.get_by_role("button", name="Enviar").click()
        await expect(page.locator("#log")).to_contain_text("Como posso ajudar?")

        # a second contact from the same address within the minute: no session for it
        await page.get_by_role("button", name="Nova conversa").click()
        await page.get_by_label("Mensagem").fill("quero a segunda via")
        await page.get_by_role("button", name="Enviar").click()
        await expect(page.locator("#status-line")).to_have_text(REFUSED)
        await expect(page.get_by_label("Mensagem")).to_have_value("quero a segunda via")

        await page.locator("#status-line").evaluate("(line) => { line.textContent = ''; }")
        picture = tmp_path / "boleto.png"
        picture.write_bytes(png())
        await page.locator("#file").set_input_files(str(picture))
        await expect(page.locator("#status-line")).to_have_text(REFUSED)
        await context.close()
    assert [e for e in console.errors if not SESSION_429.search(e)] == []


async def test_too_many_requests_from_the_connection_is_not_told_as_new_conversations(  # type: ignore[no-untyped-def]
    time_env, settings, engine, browser
):
    """The address has used its requests (two sessions asked for from the same connection):
    the chat's first message gets no session, and says it was the requests, not conversations."""
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    two_a_minute = settings.model_copy(update={"rate_limit_per_address": "2/minute"})
    async with live_server(time_env, two_a_minute, engine) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            await _publish(http)
            for _ in range(2):  # the same address as the browser's: 127.0.0.1
                opened = await http.post("/api/bots/loja/web-sessions")
                assert opened.status_code == 201, opened.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/chat/loja")
        await page.get_by_label("Mensagem").fill("oi")
        await page.get_by_role("button", name="Enviar").click()
        await expect(page.locator("#status-line")).to_have_text(FROM_THE_CONNECTION)
        await expect(page.get_by_label("Mensagem")).to_have_value("oi")
        await context.close()
    assert [e for e in console.errors if not SESSION_429.search(e)] == []


async def test_each_limit_on_a_message_is_told_as_what_it_is(  # type: ignore[no-untyped-def]
    time_env, settings, engine, browser, tmp_path
):
    """One customer per "Nova conversa", all on one connection: Ana writes twice (her own pace),
    Bruno takes the bot's second message of the minute, Carla's is over the bot's (busy, not
    her typing), her file is over her own pace, and her retry over the connection's messages."""
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    strict = settings.model_copy(
        update={
            "rate_limit_messages_per_contact": "1/minute",
            "rate_limit_web_messages_per_bot": "2/minute",
            "rate_limit_messages_per_address": "5/minute",
        }
    )
    async with live_server(time_env, strict, engine) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            await _publish(http)
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/chat/loja")
        box, status = page.get_by_label("Mensagem"), page.locator("#status-line")

        async def say(text: str) -> None:
            await box.fill(text)
            await page.get_by_role("button", name="Enviar").click()

        await say("oi")  # Ana: the connection's 1st message, the bot's 1st
        await expect(page.locator("#log")).to_contain_text("Como posso ajudar?")
        await say("tem alguém aí?")  # 2nd: over Ana's own pace
        await expect(status).to_have_text(TOO_FAST)

        await page.get_by_role("button", name="Nova conversa").click()
        await say("oi")  # Bruno: 3rd, the bot's 2nd
        await expect(page.locator("#log")).to_contain_text("Como posso ajudar?")

        await page.get_by_role("button", name="Nova conversa").click()
        await say("oi")  # Carla: 4th, over the bot's
        await expect(status).to_have_text(BOT_BUSY)
        picture = tmp_path / "boleto.png"
        picture.write_bytes(png())
        await page.locator("#file").set_input_files(str(picture))  # 5th: over Carla's pace
        await expect(status).to_have_text(FILES_TOO_FAST)
        await expect(box).to_have_value("oi")
        await page.get_by_role("button", name="Enviar").click()  # 6th: over the connection's
        await expect(status).to_have_text(MESSAGES_FROM_THE_CONNECTION)
        await context.close()
    assert [e for e in console.errors if ANY_429 not in e] == []
