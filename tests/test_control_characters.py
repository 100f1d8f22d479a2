"""Control characters in what users send: refused with a clear 422 at the door, and a NUL that
comes from elsewhere (a back-end's answer a bot repeats) never jams a conversation's record on
PostgreSQL, whose text cannot hold it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from store.conversations import messages_after, record_turn
from store.new_conversations import NewConversation
from tests.conftest import admin_headers
from workflows.contracts import Message

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"contact_id": "5511", "message_id": "m1", "text": "oi\u0000"},
        {"contact_id": "5511", "message_id": "m\u0001", "text": "oi"},
        {"contact_id": "55\u001b11", "message_id": "m1", "text": "oi"},
        {"contact_id": "5511", "message_id": "m1", "text": "oi", "contact": {"cpf": "1\u00002"}},
    ],
)
async def test_a_customer_message_with_control_characters_is_a_422(admin_api, body) -> None:  # type: ignore[no-untyped-def]
    refused = await admin_api.post("/api/bots/loja/messages", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "validation_error"


async def test_tabs_and_line_breaks_are_text(admin_api) -> None:  # type: ignore[no-untyped-def]
    """They pass validation: the bot's absence is what answers (no such bot)."""
    body = {"contact_id": "5511", "message_id": "m1", "text": "linha 1\r\nlinha\t2"}
    answered = await admin_api.post("/api/bots/loja/messages", json=body)
    assert answered.status_code == 404 and answered.json()["code"] == "unknown_bot"


@pytest.mark.parametrize(
    "text",
    ["\u200b\u200b", "\ufeff", "\u2060", " \u200b\u00a0\u3000\u200d\n", "\u3164", "\ufe0f"],
)
async def test_a_text_with_nothing_visible_is_empty(admin_api, text: str) -> None:  # type: ignore[no-untyped-def]
    """Zero-width and other invisible characters are refused as "   " is, not delivered as a
    message the agent sees as nothing."""
    body = {"contact_id": "5511", "message_id": "m1", "text": text}
    refused = await admin_api.post("/api/bots/loja/messages", json=body)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"][-1] == "text" and "text is empty" in error["msg"]


@pytest.mark.parametrize(
    "text", ["oi\u200b", "\U0001f44d", "\u2764\ufe0f", "👨\u200d👩\u200d👧", "\u0301"]
)
async def test_a_text_with_something_visible_is_text(admin_api, text: str) -> None:  # type: ignore[no-untyped-def]
    body = {"contact_id": "5511", "message_id": "m1", "text": text}
    answered = await admin_api.post("/api/bots/loja/messages", json=body)
    assert answered.status_code == 404 and answered.json()["code"] == "unknown_bot"


async def test_a_nul_in_a_text_is_a_422_on_postgresql(postgres_engine, settings, time_env) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL's text cannot hold it: the client's mistake, said as such, not a 500 (a name
    is refused before, as any name with a control character: omni/names.py)."""
    from api.app import create_app
    from tests.conftest import api_client, pydantic_client

    app = create_app(settings, engine=postgres_engine, client=pydantic_client(time_env))
    async with api_client(app) as api:
        named = await api.post(
            "/api/omni/services", json={"name": "Suporte\u0000"}, headers=admin_headers()
        )
        made = await api.post(
            "/api/omni/quick-replies",
            json={"shortcut": "/boleto", "title": "Boleto", "text": "2ª\u0000via"},
            headers=admin_headers(),
        )
    assert named.status_code == 422 and named.json()["detail"][0]["loc"] == ["body", "name"]
    assert made.status_code == 422, made.text
    assert "NUL" in made.json()["detail"] and made.json()["code"] == "bad_request"


def test_a_nul_a_bot_repeats_is_recorded_as_a_replacement_character(any_engine) -> None:  # type: ignore[no-untyped-def]
    new = NewConversation(
        conversation_id="c-nul", workflow_id="w-nul", bot="loja", bot_version=1,
        contact_id="5511", status="bot",
    )  # fmt: skip
    said = Message(seq=1, sender="bot", text="Pedido 7\u0000: enviado", at=AT)
    record_turn(any_engine, "c-nul", [said], new=new)
    record_turn(any_engine, "c-nul", [said])  # the workflow's backstop: the same seq again
    [row] = messages_after(any_engine, "c-nul", 0, 10)
    assert row.text == "Pedido 7\ufffd: enviado"
    with any_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM messages")) == 1


async def test_an_attachments_id_or_name_with_control_characters_is_a_422(admin_api) -> None:  # type: ignore[no-untyped-def]
    """Refused at the door, before the file is stored."""
    for query in ("message_id=a%01b", "name=foto%0c.png"):
        refused = await admin_api.post(f"/api/bots/loja/attachments?{query}", content=b"%PDF-1.4")
        assert refused.status_code == 422, (query, refused.text)
