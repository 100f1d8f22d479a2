"""What comes late from WhatsApp and Telegram: a platform's retry of a message that ended the
previous conversation, and a press on a button of a menu the chat has scrolled past. Doc-shaped
webhooks posted to the running API, the platforms stood in on loopback (tests/channel_standin.py),
on the time-skipping test server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from store.tables import conversations, messages
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, Standin, standin
from tests.conftest import admin_headers, conversation_handle, running_stack
from tests.test_channel_telegram import BOT_TOKEN, CHAT
from tests.test_channel_whatsapp import ACCESS_TOKEN, APP_SECRET, post_whatsapp, texts, wait_for
from workflows.menu_press import STALE_NOTICE

pytestmark = pytest.mark.asyncio

FLOW = """
bot: loja
start: inicio
blocks:
  inicio: {type: message, text: "Olá!", next: menu}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Boleto, next: boletos}
      - {label: Sair, next: fim}
  boletos:
    type: menu
    text: Qual boleto?
    options:
      - {label: Do mês, next: mes}
      - {label: Atrasado, next: atrasado}
      - {label: Sair, next: fim}
  mes: {type: message, text: Boleto do mês enviado., next: fim}
  atrasado: {type: message, text: Boleto atrasado enviado., next: fim}
  fim: {type: end, text: Até logo!}
"""
GREETING = ["Olá!", "Como posso ajudar?"]
STALE = STALE_NOTICE


async def connect_whatsapp(http: httpx.AsyncClient, phone: Standin) -> None:
    saved = await http.put(
        "/api/bots/loja/channels/whatsapp",
        json={
            "phone_number_id": phone.phone_number_id,
            "access_token": ACCESS_TOKEN,
            "app_secret": APP_SECRET,
        },
        headers=admin_headers(),
    )
    assert saved.status_code == 200, saved.text


async def connect_telegram(http: httpx.AsyncClient) -> dict[str, str]:
    """The bot's Telegram channel connected: the headers Telegram's posts carry."""
    saved = await http.put(
        "/api/bots/loja/channels/telegram", json={"bot_token": BOT_TOKEN}, headers=admin_headers()
    )
    assert saved.status_code == 200, saved.text
    return {"X-Telegram-Bot-Api-Secret-Token": saved.json()["generated"]["secret_token"]}


def customer_said(engine: sa.Engine) -> list[list[str]]:
    """The customer's entries of each conversation, oldest conversation first."""
    query = (
        sa.select(messages.c.conversation_id, messages.c.text)
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .where(messages.c.sender == "customer")
        .order_by(conversations.c.created_at, messages.c.seq)
    )
    said: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for conversation, text in conn.execute(query):
            said.setdefault(conversation, []).append(text)
    return list(said.values())


async def ended(env: Any, engine: sa.Engine) -> None:
    """The only conversation so far has closed (its farewell delivered)."""
    with engine.connect() as conn:
        [wid] = conn.scalars(sa.select(conversations.c.workflow_id))
    await asyncio.wait_for(conversation_handle(env, wid).result(), 60)


def telegram_texts(telegram: Standin) -> list[str]:
    return [body["text"] for body in telegram.sends()]


async def telegram_wait(telegram: Standin, count: int) -> list[str]:
    await asyncio.to_thread(telegram.wait, lambda s: len(telegram_texts(s)) >= count)
    return telegram_texts(telegram)


Post = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


@asynccontextmanager
async def greeted_on_telegram(
    time_env: Any, settings: Any, engine: Any
) -> AsyncIterator[tuple[Standin, Post]]:
    """The bot on Telegram (its stand-in), the customer's "oi" greeted; how Telegram posts."""
    with standin(BOT_TOKEN) as telegram:
        settings = settings.model_copy(update={"telegram_api_base": telegram.url})
        async with running_stack(time_env, settings, engine, FLOW) as http:
            auth = await connect_telegram(http)

            async def post(update: dict[str, Any]) -> httpx.Response:
                return await http.post("/api/channels/telegram/loja", json=update, headers=auth)

            await post(p.telegram_text(1, 10, CHAT, "oi"))
            assert await telegram_wait(telegram, 2) == GREETING
            yield telegram, post


async def test_meta_retrying_the_goodbye_late_does_not_reach_the_next_conversation(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The customer's "2" (Sair) ended the conversation, but Meta did not get our 200 in time:
    its retry comes once the customer has started talking again. The new conversation never
    sees it (no second "2" in its transcript, no second goodbye on the phone)."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine, FLOW) as http:
            await connect_whatsapp(http, phone)
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.r1", "oi")]))
            assert await wait_for(phone, 2) == GREETING
            goodbye = p.whatsapp([p.wa_text("wamid.r2", "2")])
            assert (await post_whatsapp(http, goodbye)).status_code == 200
            assert (await wait_for(phone, 3))[-1] == "Até logo!"
            await ended(time_env, engine)

            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.r3", "oi de novo")]))
            assert await wait_for(phone, 5) == [*GREETING, "Até logo!", *GREETING]
            late = await post_whatsapp(http, goodbye)  # Meta's retry, minutes late
            assert late.status_code == 200, late.text
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.r4", "1")]))

            shown = await wait_for(phone, 6)
            assert shown == [*GREETING, "Até logo!", *GREETING, "Qual boleto?"]
            assert customer_said(engine) == [["oi", "2"], ["oi de novo", "1"]]
            assert phone.violations == []


async def test_telegram_redelivering_the_goodbye_late_does_not_reach_the_next_conversation(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    async with greeted_on_telegram(time_env, settings, engine) as (telegram, post):
        goodbye = p.telegram_text(2, 11, CHAT, "2")
        await post(goodbye)
        assert (await telegram_wait(telegram, 3))[-1] == "Até logo!"
        await ended(time_env, engine)

        await post(p.telegram_text(3, 12, CHAT, "oi de novo"))
        assert await telegram_wait(telegram, 5) == [*GREETING, "Até logo!", *GREETING]
        assert (await post(goodbye)).status_code == 200  # the same Update, delivered again
        await post(p.telegram_text(4, 13, CHAT, "1"))

        shown = await telegram_wait(telegram, 6)
        assert shown == [*GREETING, "Até logo!", *GREETING, "Qual boleto?"]
        assert customer_said(engine) == [["oi", "2"], ["oi de novo", "1"]]
        assert telegram.violations == []


async def test_a_whatsapp_button_of_an_older_menu_answers_nothing_asked_now(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The customer scrolls up and presses "Sair" on the first menu while "Qual boleto?" is
    asked: never the current menu's option 2 ("Atrasado"), nor its own "Sair" by label (an
    older "Sim" is no answer to another question): the customer is told and asked again, and
    the menu asked now still works."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine, FLOW) as http:
            await connect_whatsapp(http, phone)
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.b1", "oi")]))
            assert await wait_for(phone, 2) == GREETING
            first = [b["reply"] for b in phone.sends()[1]["interactive"]["action"]["buttons"]]
            assert [b["title"] for b in first] == ["Boleto", "Sair"]

            pressed = p.wa_button_reply("wamid.b2", first[0]["id"], first[0]["title"])
            await post_whatsapp(http, p.whatsapp([pressed]))
            assert (await wait_for(phone, 3))[-1] == "Qual boleto?"
            stale = p.wa_button_reply("wamid.b3", first[1]["id"], first[1]["title"])
            await post_whatsapp(http, p.whatsapp([stale]))
            assert await wait_for(phone, 5) == [*GREETING, "Qual boleto?", STALE, "Qual boleto?"]

            again = [b["reply"] for b in phone.sends()[-1]["interactive"]["action"]["buttons"]]
            assert [b["title"] for b in again] == ["Do mês", "Atrasado", "Sair"]
            pressed = p.wa_button_reply("wamid.b4", again[2]["id"], again[2]["title"])
            await post_whatsapp(http, p.whatsapp([pressed]))
            shown = await wait_for(phone, 6)
            assert shown == [*GREETING, "Qual boleto?", STALE, "Qual boleto?", "Até logo!"]
            assert customer_said(engine) == [["oi", "1", "Sair", "3"]]
            assert texts(phone) == shown and phone.violations == []


async def test_a_telegram_button_of_an_older_menu_answers_nothing_asked_now(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    async with greeted_on_telegram(time_env, settings, engine) as (telegram, post):
        keyboard = telegram.sends()[1]["reply_markup"]["inline_keyboard"]
        [[boleto], [sair]] = keyboard
        await post(p.telegram_callback(2, CHAT, "q-boleto", boleto["callback_data"], keyboard))
        assert (await telegram_wait(telegram, 3))[-1] == "Qual boleto?"
        await post(p.telegram_callback(3, CHAT, "q-sair", sair["callback_data"], keyboard))
        asked = [*GREETING, "Qual boleto?", STALE, "Qual boleto?"]
        assert await telegram_wait(telegram, 5) == asked

        keyboard = telegram.sends()[-1]["reply_markup"]["inline_keyboard"]
        [[_], [atrasado], [_]] = keyboard
        await post(p.telegram_callback(4, CHAT, "q-atr", atrasado["callback_data"], keyboard))
        assert await telegram_wait(telegram, 7) == [
            *asked,
            "Boleto atrasado enviado.",
            "Até logo!",
        ]
        assert customer_said(engine) == [["oi", "1", "Sair", "2"]]
        answered = [
            s.body["callback_query_id"]
            for s in telegram.requests
            if s.path.endswith("/answerCallbackQuery")
        ]
        assert answered == ["q-boleto", "q-sair", "q-atr"] and telegram.violations == []


async def test_an_older_buttons_label_that_names_an_escape_route_takes_it(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """Escape routes are the flow's commands, whatever is asked: "Sair" from an older menu,
    where "sair" is a keyword, says goodbye rather than "choose from the current menu"."""
    escaping = FLOW.replace(
        "start: inicio", "escape_routes:\n  - {keywords: [sair], goto: fim}\nstart: inicio"
    )
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine, escaping) as http:
            await connect_whatsapp(http, phone)
            await post_whatsapp(http, p.whatsapp([p.wa_text("wamid.e1", "oi")]))
            assert await wait_for(phone, 2) == GREETING
            first = [b["reply"] for b in phone.sends()[1]["interactive"]["action"]["buttons"]]
            pressed = p.wa_button_reply("wamid.e2", first[0]["id"], first[0]["title"])
            await post_whatsapp(http, p.whatsapp([pressed]))
            assert (await wait_for(phone, 3))[-1] == "Qual boleto?"
            stale = p.wa_button_reply("wamid.e3", first[1]["id"], first[1]["title"])
            await post_whatsapp(http, p.whatsapp([stale]))
            assert await wait_for(phone, 4) == [*GREETING, "Qual boleto?", "Até logo!"]
            assert phone.violations == []
