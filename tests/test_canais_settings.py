"""Canais: saving one channel of a bot keeps every other channel's settings and secrets, and a
secret left blank keeps the stored one. Checked the way the platforms would notice: their
webhooks (signed with the secrets the admin gave first) are still accepted."""

from __future__ import annotations

import json

import httpx
import pytest

from channels.signatures import whatsapp_signature
from tests import channel_payloads as p
from tests.conftest import admin_headers

pytestmark = pytest.mark.asyncio

APP_SECRET = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
FLOW = """
bot: loja
start: fim
blocks:
  fim: {type: end, text: Até logo!}
"""


async def _put(http: httpx.AsyncClient, platform: str, body: dict[str, str]) -> dict[str, object]:
    saved = await http.put(
        f"/api/bots/loja/channels/{platform}", json=body, headers=admin_headers()
    )
    assert saved.status_code == 200, saved.text
    answer: dict[str, object] = saved.json()
    return answer


async def _whatsapp_accepts(http: httpx.AsyncClient, verify_token: str) -> None:
    """Meta's handshake with the verify token and a post signed with the app secret."""
    hub = {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": verify_token}
    handshake = await http.get("/api/channels/whatsapp/loja", params=hub)
    assert handshake.status_code == 200 and handshake.text == "42", handshake.text
    body = json.dumps(p.whatsapp(statuses=[p.wa_status("wamid.not-ours", "read")])).encode()
    signed = await http.post(
        "/api/channels/whatsapp/loja",
        content=body,
        headers={"X-Hub-Signature-256": whatsapp_signature(APP_SECRET, body)},
    )
    assert signed.status_code == 200, signed.text


async def _telegram_accepts(http: httpx.AsyncClient, secret_token: str) -> None:
    update = await http.post(
        "/api/channels/telegram/loja",
        json={"update_id": 1},
        headers={"X-Telegram-Bot-Api-Secret-Token": secret_token},
    )
    assert update.status_code == 200, update.text


async def test_saving_one_channel_keeps_the_other_and_blank_secrets(any_admin_api) -> None:  # type: ignore[no-untyped-def]
    http = any_admin_api
    published = await http.put(
        "/api/bots/loja", content=FLOW, headers={**admin_headers(), "Content-Type": "text/yaml"}
    )
    assert published.status_code in (200, 201), published.text
    telegram = await _put(http, "telegram", {"bot_token": BOT_TOKEN})
    secret_token = telegram["generated"]["secret_token"]  # type: ignore[index]
    whatsapp = await _put(
        http,
        "whatsapp",
        {
            "phone_number_id": p.PHONE_NUMBER_ID,
            "access_token": "EAA-first",
            "app_secret": APP_SECRET,
            "template_name": "retomar_conversa",
        },
    )
    verify_token = whatsapp["generated"]["verify_token"]  # type: ignore[index]
    await _whatsapp_accepts(http, verify_token)
    await _telegram_accepts(http, secret_token)

    # The page's WhatsApp form saved again, secrets blank, only the template's language changed.
    again = await _put(
        http,
        "whatsapp",
        {
            "phone_number_id": p.PHONE_NUMBER_ID,
            "template_name": "retomar_conversa",
            "template_language": "en_US",
        },
    )
    assert again["generated"] == {}
    await _telegram_accepts(http, secret_token)
    await _whatsapp_accepts(http, verify_token)

    # The page's Telegram form saved with both fields blank.
    assert (await _put(http, "telegram", {}))["generated"] == {}
    await _whatsapp_accepts(http, verify_token)
    await _telegram_accepts(http, secret_token)

    listed = (await http.get("/api/bots/loja/channels", headers=admin_headers())).json()
    by_platform = {c["platform"]: c for c in listed}
    assert by_platform["whatsapp"]["secrets_set"] == ["access_token", "app_secret", "verify_token"]
    assert by_platform["whatsapp"]["template_name"] == "retomar_conversa"
    assert by_platform["whatsapp"]["template_language"] == "en_US"
    assert by_platform["telegram"]["secrets_set"] == ["bot_token", "secret_token"]
    assert by_platform["telegram"]["account_id"] == "123456"
