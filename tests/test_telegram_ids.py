"""Telegram's message ids are per Telegram bot: after the operator points the connector at
another bot (a new token of another bot id), that bot's first messages reuse ids the customer
already had answered through the old one. They are new messages, while a true retry of either
bot is still taken without effect, across a rotated token of the same bot and across the
upgrade that put the bot's id into our message ids. Doc-shaped Updates posted to the running
API, the Bot API stood in on loopback (tests/channel_standin.py), on the time-skipping server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from encryption.codec import keyed_hash
from store.tables import conversations, messages
from tests import channel_payloads as p
from tests.channel_standin import Standin, standin
from tests.conftest import admin_headers, conversation_handle, running_stack
from tests.test_channel_stale_input import FLOW, GREETING, customer_said, telegram_wait
from tests.test_channel_telegram import BOT_TOKEN, CHAT
from transbordo.stack import stack_ring

pytestmark = pytest.mark.asyncio

ROTATED_TOKEN = "123456:rotated-secret-of-the-same-bot"
"""The same bot (id 123456) after @BotFather's /revoke: a new token, the same message ids."""
OTHER_BOT_TOKEN = "654321:ZYX-other-bot-token-9876"
"""Another Telegram bot: its message ids start again from low numbers."""
GOODBYE = "Até logo!"

Post = Callable[..., Awaitable[httpx.Response]]


@asynccontextmanager
async def on_telegram(
    time_env: Any, settings: Any, engine: sa.Engine
) -> AsyncIterator[tuple[Standin, httpx.AsyncClient, Post]]:
    """The bot connected to Telegram (its stand-in); the API client; how Telegram posts."""
    with standin(BOT_TOKEN) as telegram:
        settings = settings.model_copy(update={"telegram_api_base": telegram.url})
        async with running_stack(time_env, settings, engine, FLOW) as http:
            auth = await _connect(http, BOT_TOKEN)

            async def post(
                update: dict[str, Any], headers: dict[str, str] | None = None, expected: int = 200
            ) -> httpx.Response:
                """Telegram posts `update` (with the connector's secret token, or `headers`)."""
                taken = await http.post(
                    "/api/channels/telegram/loja",
                    json=update,
                    headers=auth if headers is None else headers,
                )
                assert taken.status_code == expected, taken.text
                return taken

            async def switch(token: str) -> dict[str, str]:
                """The operator saves another token; from now on Telegram is the bot of that
                token. The secret token Telegram posts with before the switch (returned)."""
                before = dict(auth)
                auth.update(await _connect(http, token))
                telegram.token = token  # the stand-in refuses sends with any other token
                return before

            yield telegram, post, switch


async def _connect(http: httpx.AsyncClient, token: str) -> dict[str, str]:
    """Save the connector with `token` (its secret token kept after the first save)."""
    saved = await http.put(
        "/api/bots/loja/channels/telegram", json={"bot_token": token}, headers=admin_headers()
    )
    assert saved.status_code == 200, saved.text
    generated = saved.json()["generated"]
    return {"X-Telegram-Bot-Api-Secret-Token": generated["secret_token"]} if generated else {}


async def _all_ended(env: Any, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        ids = list(conn.scalars(sa.select(conversations.c.workflow_id)))
    for wid in ids:
        await asyncio.wait_for(conversation_handle(env, wid).result(), 60)


async def _greeted_and_left(telegram: Standin, post: Post, first_update: int, sent: int) -> None:
    """The customer says "oi" (message 10), is greeted, and leaves with "2" (message 11)."""
    await post(p.telegram_text(first_update, 10, CHAT, "oi"))
    assert (await telegram_wait(telegram, sent + 2))[sent:] == GREETING
    await post(p.telegram_text(first_update + 1, 11, CHAT, "2"))
    assert (await telegram_wait(telegram, sent + 3))[-1] == GOODBYE


async def test_the_same_message_id_from_another_telegram_bot_is_a_new_message(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The customer talked to the old bot (messages 10 and 11). The operator connects another
    bot; the customer's first messages to it are again 10 and 11: greeted and answered, never
    taken for the old bot's retries. A true retry of the new bot's "2" changes nothing."""
    async with on_telegram(time_env, settings, engine) as (telegram, post, switch):
        await _greeted_and_left(telegram, post, 1, 0)
        await _all_ended(time_env, engine)

        old_secret = await switch(OTHER_BOT_TOKEN)
        await post(p.telegram_text(2, 11, CHAT, "2"), old_secret, 401)  # the old bot's webhook
        await _greeted_and_left(telegram, post, 1, 3)  # the new bot's update and message ids
        await _all_ended(time_env, engine)
        await post(p.telegram_text(2, 11, CHAT, "2"))  # the new bot's "2", delivered again
        await post(p.telegram_text(3, 12, CHAT, "oi de novo"))

        shown = await telegram_wait(telegram, 8)
        assert shown == [*GREETING, GOODBYE, *GREETING, GOODBYE, *GREETING]
        assert customer_said(engine) == [["oi", "2"], ["oi", "2"], ["oi de novo"]]
        assert telegram.violations == []  # the new bot's answers went with the new bot's token


async def test_a_rotated_token_of_the_same_bot_still_knows_its_retries(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The operator revokes the bot's token and saves the new one: the same bot, the same
    message ids, so Telegram's late retry of the goodbye is still taken without effect."""
    async with on_telegram(time_env, settings, engine) as (telegram, post, switch):
        await _greeted_and_left(telegram, post, 1, 0)
        await _all_ended(time_env, engine)

        secret = await switch(ROTATED_TOKEN)  # the same bot: its secret token is kept
        await post(p.telegram_text(2, 11, CHAT, "2"), secret)  # the goodbye's Update, again
        await post(p.telegram_text(3, 12, CHAT, "oi de novo"))

        assert await telegram_wait(telegram, 5) == [*GREETING, GOODBYE, *GREETING]
        assert customer_said(engine) == [["oi", "2"], ["oi de novo"]]
        assert telegram.violations == []


async def test_a_retry_of_a_message_answered_before_the_upgrade_is_taken_without_effect(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """Messages answered by the version before bot ids were in our message ids are logged
    under the older form (the keyed hash of `<chat>:<message id>`). Telegram's late retry of
    such a goodbye, arriving after the upgrade, is still known: no second conversation."""
    async with on_telegram(time_env, settings, engine) as (telegram, post, _):
        await _greeted_and_left(telegram, post, 1, 0)
        await _all_ended(time_env, engine)
        with engine.begin() as conn:  # the log as the version before the upgrade wrote it
            for text, telegram_id in (("oi", 10), ("2", 11)):
                older = "tg_" + keyed_hash(stack_ring(), f"{CHAT}:{telegram_id}")
                conn.execute(
                    sa.update(messages)
                    .where(messages.c.sender == "customer", messages.c.text == text)
                    .values(message_id=older)
                )

        await post(p.telegram_text(2, 11, CHAT, "2"))  # the goodbye's Update, delivered again
        await post(p.telegram_text(3, 12, CHAT, "oi de novo"))

        assert await telegram_wait(telegram, 5) == [*GREETING, GOODBYE, *GREETING]
        assert customer_said(engine) == [["oi", "2"], ["oi de novo"]]
        assert telegram.violations == []
