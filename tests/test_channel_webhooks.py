"""The channels' webhook routes without a worker: signatures of any bytes, the rate of failed
checks per address (valid posts never counted), other numbers of the same Meta app, logs
without customer data."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from channels.signatures import whatsapp_signature
from tests import channel_payloads as p
from tests.conftest import admin_headers, api_client, pydantic_client
from transbordo.settings import Settings

pytestmark = pytest.mark.asyncio

APP_SECRET = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
FAILURES = 3
FLOW = """
bot: loja
start: fim
blocks:
  fim: {type: end, text: Até logo!}
"""


@pytest.fixture
async def api(
    settings: Settings, engine: sa.Engine, time_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    limited = settings.model_copy(
        update={"rate_limit_failed_signatures_per_address": f"{FAILURES}/minute"}
    )
    app = create_app(limited, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        published = await http.put(
            "/api/bots/loja",
            content=FLOW,
            headers={**admin_headers(), "Content-Type": "text/yaml"},
        )
        assert published.status_code in (200, 201), published.text
        saved = await http.put(
            "/api/bots/loja/channels/whatsapp",
            json={
                "phone_number_id": p.PHONE_NUMBER_ID,
                "access_token": "EAA-test",
                "app_secret": APP_SECRET,
            },
            headers=admin_headers(),
        )
        assert saved.status_code == 200, saved.text
        yield http


async def signed(http: httpx.AsyncClient, payload: object, bot: str = "loja") -> httpx.Response:
    body = json.dumps(payload).encode()
    return await http.post(
        f"/api/channels/whatsapp/{bot}",
        content=body,
        headers={"X-Hub-Signature-256": whatsapp_signature(APP_SECRET, body)},
    )


async def test_made_up_non_ascii_signatures_are_401(api: httpx.AsyncClient) -> None:
    tg = await api.put(
        "/api/bots/loja/channels/telegram", json={"bot_token": BOT_TOKEN}, headers=admin_headers()
    )
    assert tg.status_code == 200
    made_up = "sha256=ç".encode("latin-1")  # a header is bytes; Starlette reads them as latin-1
    for path, header in (
        ("/api/channels/whatsapp/loja", "X-Hub-Signature-256"),
        ("/api/channels/telegram/loja", "X-Telegram-Bot-Api-Secret-Token"),
        ("/api/channels/whatsapp/nobody", "X-Hub-Signature-256"),
    ):
        refused = await api.post(path, content=b"{}", headers=[(header.encode(), made_up)])
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["code"] == "unauthorized"


async def test_only_failed_signatures_count_towards_the_limit(api: httpx.AsyncClient) -> None:
    statuses = p.whatsapp(statuses=[p.wa_status("wamid.not-ours", "read")])
    for _ in range(FAILURES * 2):  # Meta's own posts never count
        taken = await signed(api, statuses)
        assert taken.json() == {"messages": 0, "statuses": 1}
    for _ in range(FAILURES):
        bad = await api.post(
            "/api/channels/whatsapp/loja", json=statuses, headers={"X-Hub-Signature-256": "x"}
        )
        assert bad.status_code == 401
    refused = await api.post("/api/channels/telegram/loja", json={})
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_other_numbers_of_the_app_and_bad_shapes_are_taken_and_ignored(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    elsewhere = p.whatsapp([p.wa_text("wamid.X", "meu cpf é 123.456.789-00")])
    elsewhere["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert (await signed(api, elsewhere)).json() == {"messages": 0, "statuses": 0}
    not_ours = {"object": "whatsapp_business_account", "entry": p.CUSTOMER}
    assert (await signed(api, not_ours)).json() == {"messages": 0, "statuses": 0}
    assert "not understood" in caplog.text
    assert p.CUSTOMER not in caplog.text and "123.456" not in caplog.text


async def test_telegram_bot_tokens_have_botfathers_shape(api: httpx.AsyncClient) -> None:
    for token in ("no-colon", "12:ab/../x", "abc:def", "12:ab?x=1"):
        refused = await api.put(
            "/api/bots/loja/channels/telegram", json={"bot_token": token}, headers=admin_headers()
        )
        assert refused.status_code == 422, token


async def test_guessing_the_verify_token_is_limited_like_forging_a_signature(
    api: httpx.AsyncClient,
) -> None:
    hub = {"hub.mode": "subscribe", "hub.challenge": "42"}
    for guess in range(FAILURES):
        wrong = await api.get(
            "/api/channels/whatsapp/loja", params={**hub, "hub.verify_token": f"guess-{guess}"}
        )
        assert wrong.status_code == 403
    refused = await api.get(
        "/api/channels/whatsapp/loja", params={**hub, "hub.verify_token": "guess-next"}
    )
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    forged = await api.post(
        "/api/channels/whatsapp/loja", json={}, headers={"X-Hub-Signature-256": "x"}
    )
    assert forged.status_code == 429  # one count for both kinds of guess
