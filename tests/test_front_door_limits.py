"""The front door's limits answer clearly: 413 for big bodies, 422 for bad input (never echoed
back whole), 429 with Retry-After for too many requests or streams, and never a 500; after each
refusal the service still answers a normal request."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.routes.pages import PAGES
from tests.conftest import (
    admin_headers,
    api_client,
    conversation_handle,
    conversation_wid,
    pydantic_client,
    running_stack,
)
from tests.live import DEADLINE_SECONDS, serving
from transbordo.settings import MIN_ADMIN_TOKEN_LENGTH, Settings, get_settings
from workflows.contracts import MAX_TEXT_LENGTH

TEMPLATES = Path(__file__).parent.parent / "api" / "templates"
BOT = """
bot: loja
start: menu
blocks:
  menu:
    type: question
    text: "Olá! Qual o seu nome?"
    save_as: nome
    next: fim
  fim: {type: end, text: "Até logo, {{ vars.nome }}."}
"""
YAML = {**admin_headers(), "Content-Type": "application/yaml"}


def message(who: str = "5511", message_id: str = "m1", text: str = "oi", **extra):  # type: ignore[no-untyped-def]
    return {"contact_id": who, "message_id": message_id, "text": text, **extra}


async def still_answers(http: httpx.AsyncClient) -> None:
    """After a refusal the service answers a normal request."""
    answer = await http.get("/api/bots", headers=admin_headers())
    assert answer.status_code == 200, answer.text


def refused(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code, body
    return body


# --- body sizes ------------------------------------------------------------------------------


async def test_a_large_declared_body_is_413_before_it_is_read(admin_api) -> None:
    big = json.dumps(message(text="x" * 1_000_000))
    answer = await admin_api.post(
        "/api/bots/loja/messages", content=big, headers={"Content-Type": "application/json"}
    )
    body = refused(answer, 413, "payload_too_large")
    assert f"{80 * 1024} bytes" in body["detail"]
    assert len(answer.content) < 500  # nothing of the text comes back
    await still_answers(admin_api)


async def test_the_largest_valid_message_fits_however_json_writes_it(
    time_env, settings, engine
) -> None:
    """4,096 emoji, as `json.dumps` writes them (`\\ud83d\\ude00`, 12 bytes each), with the
    longest ids and name: 55 KiB of a valid message, which 16 KiB refused."""
    emoji = "\U0001f600"
    longest = message(
        emoji * 200, emoji * 200, emoji * MAX_TEXT_LENGTH, contact={"name": emoji * 200}
    )
    body = json.dumps(longest)
    assert len(body) > 55 * 1024
    async with running_stack(time_env, settings, engine, BOT) as http:
        answer = await http.post(
            "/api/bots/loja/messages", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["replies"][0]["text"] == "Olá! Qual o seu nome?"


async def test_a_large_chunked_body_is_413_too(admin_api) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"contact_id": "5511", "message_id": "m1", "text": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    answer = await admin_api.post(
        "/api/bots/loja/messages", content=chunks(), headers={"Content-Type": "application/json"}
    )
    refused(answer, 413, "payload_too_large")
    await still_answers(admin_api)


async def test_a_bot_yaml_has_its_own_limit(admin_api, settings) -> None:
    over = settings.flow_max_bytes + settings.bot_body_slack_bytes + 1
    source = BOT + "#" * over
    answer = await admin_api.put("/api/bots/loja", content=source, headers=YAML)
    refused(answer, 413, "payload_too_large")
    # over the flow's limit but within the slack: the flow's own 422 names the limit
    source = BOT + "#" * (settings.flow_max_bytes + 10)
    answer = await admin_api.put("/api/bots/loja", content=source, headers=YAML)
    refused(answer, 422, "flow_invalid")
    published = await admin_api.put("/api/bots/loja", content=BOT, headers=YAML)
    assert published.status_code == 201, published.text


# --- bad input -------------------------------------------------------------------------------


async def test_a_yaml_body_that_is_not_utf8_is_a_4xx(admin_api) -> None:
    source = BOT.encode("utf-8") + "# ação\n".encode("latin-1")
    answer = await admin_api.put("/api/bots/loja", content=source, headers=YAML)
    [error] = refused(answer, 422, "validation_error")["detail"]
    assert (error["line"], error["column"]) == (BOT.count("\n") + 1, 4)
    assert "not UTF-8" in error["msg"]
    await still_answers(admin_api)


async def test_undecodable_json_is_422(admin_api) -> None:
    for content in (b'{"contact_id": ', b"\xff\xfe{}", b"[1, 2"):
        answer = await admin_api.post(
            "/api/bots/loja/messages",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        refused(answer, 422, "validation_error")
    await still_answers(admin_api)


async def test_validation_errors_do_not_echo_large_inputs(admin_api) -> None:
    long_text = "y" * 12_000  # over the 4,096-character text limit, under the body limit
    answer = await admin_api.post("/api/bots/loja/messages", json=message(text=long_text))
    body = refused(answer, 422, "validation_error")
    assert len(answer.content) < 2_000
    [error] = body["detail"]
    assert error["loc"] == ["body", "text"]
    assert "input" not in error  # a message's text is never echoed (a CPF the customer typed)
    await still_answers(admin_api)


@pytest.mark.parametrize(
    ("contact", "why"),
    [
        ({f"campo{n}": "v" for n in range(21)}, "more than 20 extra fields"),
        ({"k" * 65: "v"}, "longer than 64 characters"),
        ({"cpf": "1" * 501}, "longer than 500 characters"),
        ({f"campo{n}": "v" * 400 for n in range(12)}, "larger than 4096 bytes"),
    ],
)
async def test_huge_contact_extras_are_422(admin_api, contact, why) -> None:
    answer = await admin_api.post("/api/bots/loja/messages", json=message(contact=contact))
    body = refused(answer, 422, "validation_error")
    assert why in body["detail"][0]["msg"]
    assert len(answer.content) < 2_000
    await still_answers(admin_api)


async def test_a_payload_temporal_refuses_is_413_not_500(
    dev_env, settings, engine, monkeypatch
) -> None:
    """With the front door's limits raised past Temporal's 4 MiB gRPC limit, the real server's
    refusal (RESOURCE_EXHAUSTED) is still a clear 413."""
    huge_limit = str(8 * 1024 * 1024)
    monkeypatch.setenv("TRANSBORDO_CONTACT_MAX_BYTES", huge_limit)
    monkeypatch.setenv("TRANSBORDO_CONTACT_MAX_VALUE_LENGTH", huge_limit)
    get_settings.cache_clear()  # the contact model reads the process settings
    loose = settings.model_copy(update={"channel_body_max_bytes": 8 * 1024 * 1024})
    try:
        async with running_stack(dev_env, loose, engine, BOT) as http:
            huge = message(contact={"nota": "z" * (5 * 1024 * 1024)})
            answer = await http.post("/api/bots/loja/messages", json=huge)
            refused(answer, 413, "payload_too_large")
            normal = await http.post("/api/bots/loja/messages", json=message("5512"))
            assert normal.status_code == 200, normal.text
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


# --- rates and streams -----------------------------------------------------------------------


async def test_too_many_messages_from_one_contact_is_429_with_retry_after(
    settings, engine, time_env
) -> None:
    strict = settings.model_copy(update={"rate_limit_messages_per_contact": "2/minute"})
    app = create_app(strict, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        for n in range(2):  # no bot published: 404, but counted
            answer = await http.post("/api/bots/nada/messages", json=message(message_id=f"{n}"))
            assert answer.status_code == 404
        answer = await http.post("/api/bots/nada/messages", json=message(message_id="3"))
        refused(answer, 429, "rate_limited")
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        other = await http.post("/api/bots/nada/messages", json=message("outro", "4"))
        assert other.status_code == 404  # another contact is not limited


async def test_too_many_requests_from_one_address_is_429(settings, engine, time_env) -> None:
    strict = settings.model_copy(update={"rate_limit_per_address": "3/minute"})
    app = create_app(strict, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        for _ in range(3):  # counted before anything else: even a request with no credential
            assert (await http.get("/api/conversations/nenhuma")).status_code == 401
        answer = await http.get("/api/conversations/nenhuma")
        refused(answer, 429, "rate_limited")
        assert "Retry-After" in answer.headers
        await still_answers(http)  # admin routes are not the public door


async def test_too_many_messages_to_one_bot_is_429(settings, engine, time_env) -> None:
    strict = settings.model_copy(update={"rate_limit_messages_per_bot": "2/minute"})
    app = create_app(strict, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as http:
        for n in range(2):
            answer = await http.post("/api/bots/nada/messages", json=message(f"c{n}", f"{n}"))
            assert answer.status_code == 404
        answer = await http.post("/api/bots/nada/messages", json=message("c9", "9"))
        refused(answer, 429, "rate_limited")
        answer = await http.post("/api/bots/outro/messages", json=message("c9", "9"))
        assert answer.status_code == 404


async def test_open_streams_per_address_are_capped(time_env, settings, engine) -> None:
    capped = settings.model_copy(update={"max_streams_per_address": 1})
    async with running_stack(time_env, capped, engine, BOT) as http:
        turn = (await http.post("/api/bots/loja/messages", json=message())).json()
        path = f"/api/conversations/{turn['conversation_id']}/stream"
        app = create_app(capped, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS, auth=http.auth) as real,
        ):
            async with real.stream("GET", path) as first:
                assert first.status_code == 200
                second = await real.get(path)
                refused(second, 429, "rate_limited")
                assert second.headers["Retry-After"]
            again = await real.get("/api/conversations/" + turn["conversation_id"])
            assert again.status_code == 200


# --- the idle limit of a conversation that never engaged -------------------------------------


async def test_a_conversation_that_never_engaged_ends_after_the_short_idle_limit(
    time_env, settings, engine
) -> None:
    async with running_stack(time_env, settings, engine, BOT) as http:
        once = (await http.post("/api/bots/loja/messages", json=message("curto"))).json()
        await http.post("/api/bots/loja/messages", json=message("longo", "a"))
        engaged = (await http.post("/api/bots/loja/messages", json=message("longo", "b"))).json()
        assert engaged["status"] == "ended"  # the flow ended: 24 h does not apply to it
        handle = conversation_handle(time_env, conversation_wid("loja", "curto"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        transcript = (
            await http.get(f"/api/conversations/{once['conversation_id']}/messages")
        ).json()
        assert transcript[-1]["text"] == "Conversa encerrada por inatividade."
        began = datetime.fromisoformat(transcript[0]["at"])
        ended = datetime.fromisoformat(transcript[-1]["at"])
        assert (ended - began).total_seconds() == pytest.approx(
            settings.unengaged_idle_seconds, abs=5
        )


# --- pages and settings ----------------------------------------------------------------------


async def test_every_page_sends_a_content_security_policy(admin_api) -> None:
    for path in [*PAGES, "/chat/loja", "/bots/loja/atendimento-humano"]:
        answer = await admin_api.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ):
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_no_template_has_an_inline_script_or_style_attribute() -> None:
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (template.name, tag)
        assert not re.search(r"\sstyle=", html), template.name
        assert not re.search(r"\son[a-z]+=", html), template.name


def test_a_short_admin_token_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match=f"at least {MIN_ADMIN_TOKEN_LENGTH} characters"):
        Settings(admin_token="secadmin")
    assert Settings(admin_token="a" * MIN_ADMIN_TOKEN_LENGTH).admin_token
    assert Settings(admin_token=None).admin_token is None
