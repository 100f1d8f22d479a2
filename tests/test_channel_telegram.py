"""Telegram end to end: Updates posted with the secret token header, the Bot API stood in on
loopback (inline keyboards, callback answers, typing, 429 `retry_after`)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from channels.model import read_button_id
from tests import channel_payloads as p
from tests.channel_standin import standin
from tests.conftest import admin_headers, running_stack
from transbordo import logs

pytestmark = pytest.mark.asyncio

BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
CHAT = 1111111

FLOW = """
bot: loja
start: menu
blocks:
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Segunda via de boleto, next: boleto}
      - {label: Sair, next: fim}
  boleto: {type: message, text: Seu boleto foi enviado., next: fim}
  fim: {type: end, text: Até logo!}
"""


async def test_telegram_menu_button_press_and_retry_after(  # type: ignore[no-untyped-def]
    time_env, settings, engine, caplog
) -> None:
    logs.setup(logging.INFO)  # as the worker and `up` set logging up
    caplog.set_level(logging.INFO)
    with standin(BOT_TOKEN) as telegram:
        settings = settings.model_copy(update={"telegram_api_base": telegram.url})
        async with running_stack(time_env, settings, engine, FLOW) as http:
            saved = await http.put(
                "/api/bots/loja/channels/telegram",
                json={"bot_token": BOT_TOKEN},
                headers=admin_headers(),
            )
            assert saved.status_code == 200, saved.text
            secret = saved.json()["generated"]["secret_token"]
            assert saved.json()["account_id"] == "123456"
            again = await http.put(
                "/api/bots/loja/channels/telegram", json={}, headers=admin_headers()
            )
            assert again.json()["generated"] == {}  # kept, not shown again

            update = p.telegram_text(1, 1365, CHAT, "oi")
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}):
                refused = await http.post(
                    "/api/channels/telegram/loja", json=update, headers=headers
                )
                assert refused.status_code == 401
            assert telegram.requests == []

            good = {"X-Telegram-Bot-Api-Secret-Token": secret}
            telegram.script = [
                (
                    429,
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1},
                    },
                    {},
                )
            ]
            taken = await http.post("/api/channels/telegram/loja", json=update, headers=good)
            assert taken.json() == {"messages": 1, "statuses": 0}
            await asyncio.to_thread(telegram.wait, lambda s: len(s.sends()) >= 1)
            [menu] = telegram.sends()
            assert menu["chat_id"] == CHAT and menu["text"] == "Como posso ajudar?"
            keyboard = menu["reply_markup"]["inline_keyboard"]
            assert [[b["text"] for b in row] for row in keyboard] == [
                ["Segunda via de boleto"],
                ["Sair"],
            ]  # each button's id names the menu and its option
            assert [read_button_id(row[0]["callback_data"])[0] for row in keyboard] == ["1", "2"]
            assert [s.status for s in telegram.requests if s.path.endswith("/sendMessage")] == [
                429,
                200,
            ]
            assert any(s.path.endswith("/sendChatAction") for s in telegram.requests)

            data = keyboard[0][0]["callback_data"]
            press = p.telegram_callback(2, CHAT, "4382bfdwdsb323b2d9", data, keyboard)
            assert (
                await http.post("/api/channels/telegram/loja", json=press, headers=good)
            ).status_code == 200
            await asyncio.to_thread(telegram.wait, lambda s: len(s.sends()) >= 3)
            assert [b["text"] for b in telegram.sends()] == [
                "Como posso ajudar?",
                "Seu boleto foi enviado.",
                "Até logo!",
            ]
            answered = [
                s.body for s in telegram.requests if s.path.endswith("/answerCallbackQuery")
            ]
            assert answered == [{"callback_query_id": "4382bfdwdsb323b2d9"}]
            assert telegram.violations == []
    assert "sendMessage" in "".join(s.path for s in telegram.requests)
    secret_part = BOT_TOKEN.partition(":")[2]
    assert caplog.records and secret_part not in caplog.text  # the token is in every URL
