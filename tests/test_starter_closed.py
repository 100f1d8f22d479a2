"""A bot made with "Criar novo bot" tells a customer out of hours when service opens again.

The starter flow (what the /bots page's editor starts from) checks hours in its Humano block;
before, it had no `closed` route, so under "Fechamento emergencial" (or out of hours) the
customer's "1" got no answer and the conversation ended, and publishing said nothing. Its
greeting also read "Olá, ! Bem-vindo." for a customer without a name (the web chat's default).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import admin_headers, running_stack
from tests.test_starter_web_chat import starter_of

pytestmark = pytest.mark.asyncio

BOT = "novo-bot"
YAML = {**admin_headers(), "Content-Type": "application/yaml"}

NO_CLOSED_ROUTE = """\
bot: sem-rota
human_service: {platform: omni_v2, omni_key: "${SEM_ROTA_OMNI_KEY}"}
start: humano
blocks:
  humano:
    type: human
    on: {finished: fim, unavailable: fim}
  fim: {type: end, text: Até logo.}
"""
"""A Humano block that checks hours (the default) with nowhere for `closed` to go."""


async def publish_starter(http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The starter flow as the /bots page serves it, published with a live Omni key."""
    admin = admin_headers()
    service = await http.post(
        "/api/omni/services", json={"name": "Suporte", "extension": "100"}, headers=admin
    )
    assert service.status_code == 201, service.text
    integration = await http.post(
        "/api/omni/integrations", json={"service": "Suporte", "bot": BOT}, headers=admin
    )
    assert integration.status_code == 201, integration.text
    monkeypatch.setenv("NOVO_BOT_OMNI_KEY", integration.json()["api_key"])
    source = starter_of((await http.get("/bots")).text)
    published = await http.put(f"/api/bots/{BOT}", content=source.encode(), headers=YAML)
    assert published.status_code == 201, published.text
    return published.json()


async def web_chat(http: httpx.AsyncClient) -> dict[str, str]:
    opened = await http.post(f"/api/bots/{BOT}/web-sessions", auth=None)
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['token']}"}


async def say(http: httpx.AsyncClient, session: dict[str, str], mid: str, text: str) -> dict:
    answer = await http.post(
        f"/api/bots/{BOT}/messages", json={"message_id": mid, "text": text}, headers=session
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def texts(turn: dict) -> list[str]:
    return [reply["text"] for reply in turn["replies"]]


async def test_the_starter_bot_under_emergency_closure_says_when_service_opens_again(
    time_env, settings, engine, monkeypatch
):
    async with running_stack(time_env, settings, engine) as http:
        published = await publish_starter(http, monkeypatch)
        assert published["warnings"] == []  # a live key and a `closed` route: nothing to say
        closure = await http.patch(
            f"/api/bots/{BOT}/settings",
            json={"schedule": {"emergency_closed": True}},
            headers=admin_headers(),
        )
        assert closure.status_code == 201, closure.text
        assert closure.json()["warnings"] == []
        session = await web_chat(http)
        menu = texts(await say(http, session, "1", "oi"))[-1]
        assert menu.startswith("Como posso ajudar?\n1. Falar com um especialista")
        closed = await say(http, session, "2", "1")  # Falar com um especialista
        assert texts(closed) == [
            "No momento não temos atendimento humano. Voltamos assim que possível."
        ]
        assert closed["status"] == "ended"


async def test_the_starter_greets_a_customer_without_a_name_without_an_empty_name(
    time_env, settings, engine, monkeypatch
):
    async with running_stack(time_env, settings, engine) as http:
        await publish_starter(http, monkeypatch)
        greeted = await say(http, await web_chat(http), "1", "oi")  # the web chat gives no name
        assert texts(greeted)[0] == "Olá! Bem-vindo."
        assert all(", !" not in text for text in texts(greeted))


async def test_publishing_a_humano_block_without_a_closed_route_warns(admin_api, monkeypatch):
    monkeypatch.delenv("SEM_ROTA_OMNI_KEY", raising=False)
    published = await admin_api.put(
        "/api/bots/sem-rota", content=NO_CLOSED_ROUTE.encode(), headers=YAML
    )
    assert published.status_code == 201, published.text
    warnings = published.json()["warnings"]
    assert len(warnings) == 2  # the unset key, and the block without `closed`
    [closed] = [w for w in warnings if "closed" in w]
    assert closed.startswith("sem-rota.yaml:5:3: block 'humano': checks hours")
    assert "the customer would be ended without a word" in closed
    # a route for `closed` (or `next`, or check_hours: false) says nothing more
    for fix in ("on: {finished: fim, unavailable: fim, closed: fim}", "next: fim"):
        routed = NO_CLOSED_ROUTE.replace("on: {finished: fim, unavailable: fim}", fix)
        again = await admin_api.put("/api/bots/sem-rota", content=routed.encode(), headers=YAML)
        assert again.status_code == 201, again.text
        assert [w for w in again.json()["warnings"] if "closed" in w] == []
    unchecked = NO_CLOSED_ROUTE.replace("type: human", "type: human\n    check_hours: false")
    again = await admin_api.put("/api/bots/sem-rota", content=unchecked.encode(), headers=YAML)
    assert [w for w in again.json()["warnings"] if "closed" in w] == []


async def test_the_starter_flow_itself_publishes_without_the_closed_warning(admin_api, monkeypatch):
    monkeypatch.delenv("NOVO_BOT_OMNI_KEY", raising=False)
    source = starter_of((await admin_api.get("/bots")).text)
    published = await admin_api.put(f"/api/bots/{BOT}", content=source.encode(), headers=YAML)
    assert published.status_code == 201, published.text
    [unset_key] = published.json()["warnings"]
    assert "NOVO_BOT_OMNI_KEY is not set" in unset_key
