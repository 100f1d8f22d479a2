"""Automatic assignment end to end (time-skipping server, real SQL, HTTP): offers ring, lapse
to the next agent, decline, accept (the pickup), capacity, a freed slot offered at once, agents
away after lapses; priority (a template) and skills in the queue order."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import admin_headers, running_stack
from tests.live import eventually

pytestmark = pytest.mark.asyncio

FLOW = """
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: codigo
blocks:
  codigo: {{type: question, text: Seu código?, save_as: codigo, next: humano}}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir.
    priority: "{{{{ 5 if codigo == 'vip' else 0 }}}}"
    skills: {skills}
    on: {{finished: fim, abandoned: fim}}
  fim: {{type: end, text: Até logo!}}
"""


class Desk:
    def __init__(self, http: httpx.AsyncClient, key: str, tokens: dict[str, str]) -> None:
        self.http, self.key, self.tokens = http, key, tokens

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def offers(self, name: str) -> list[dict]:
        answer = await self.http.get("/api/agent/offers", headers=self.auth(name))
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def offer_for(self, name: str, conversation: str, exclude: str = "") -> dict:
        async def check() -> dict | None:
            return next(
                (
                    offer
                    for offer in await self.offers(name)
                    if offer["conversation_id"] == conversation and offer["id"] != exclude
                ),
                None,
            )

        return await eventually(check, f"an offer of {conversation} to {name}")


async def open_desk(
    http: httpx.AsyncClient,
    agents: dict[str, list[str]],
    *,
    skills: str = "[]",
    available: bool = True,
    **service: object,
) -> Desk:
    admin = admin_headers()
    body = {"name": "Suporte", "abandon_seconds": 1000, **service}
    created = await http.post("/api/omni/services", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["assignment"] == service.get("assignment", "manual")
    integration = await http.post(
        "/api/omni/integrations", json={"service": "Suporte", "bot": "loja"}, headers=admin
    )
    tokens = {}
    for name, agent_skills in agents.items():
        made = await http.post(
            "/api/omni/agents",
            json={"name": name, "services": ["Suporte"], "skills": agent_skills},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        tokens[name] = made.json()["token"]
    desk = Desk(http, integration.json()["api_key"], tokens)
    published = await http.put(
        "/api/bots/loja",
        content=FLOW.format(key=desk.key, skills=skills),
        headers={**admin, "Content-Type": "text/yaml"},
    )
    assert published.status_code in (200, 201), published.text
    if available:
        for name in agents:
            await go(desk, name, "available")
    return desk


async def go(desk: Desk, name: str, status: str) -> None:
    changed = await desk.http.post(
        "/api/agent/status", json={"status": status}, headers=desk.auth(name)
    )
    assert changed.status_code == 200, changed.text


async def queue_up(http: httpx.AsyncClient, contact: str, code: str = "-") -> str:
    for n, text in enumerate(["oi", code]):
        body = {"contact_id": contact, "message_id": f"{contact}-{n}", "text": text}
        answer = await http.post("/api/bots/loja/messages", json=body)
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "waiting", answer.json()
    return str(answer.json()["conversation_id"])


async def test_offers_lapse_to_the_next_agent_decline_accept_and_fill_freed_slots(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": [], "Beto": []}, assignment="auto", offer_seconds=30)
        first = await queue_up(http, "c1")
        rung = {name: await desk.offers(name) for name in ("Ana", "Beto")}
        assert sorted(len(offers) for offers in rung.values()) == [0, 1]  # one offer, at once
        x = next(name for name, offers in rung.items() if offers)
        y = "Beto" if x == "Ana" else "Ana"
        lapsed = rung[x][0]
        await time_env.sleep(31)  # nobody answers: the offer lapses to the other agent
        second = await desk.offer_for(y, first)
        assert await desk.offers(x) == []
        late = await http.post(f"/api/agent/offers/{lapsed['id']}/accept", headers=desk.auth(x))
        assert late.status_code == 409  # a lapsed offer cannot be accepted
        for action in ("accept", "decline"):  # another agent's offer does not exist for x
            foreign = await http.post(
                f"/api/agent/offers/{second['id']}/{action}", headers=desk.auth(x)
            )
            assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
        admin = await http.get("/api/agent/offers", headers=admin_headers())
        assert admin.status_code == 401
        declined = await http.post(
            f"/api/agent/offers/{second['id']}/decline", headers=desk.auth(y)
        )
        assert declined.status_code == 200
        again = await desk.offer_for(x, first)  # straight back to the next agent
        accepted = await http.post(f"/api/agent/offers/{again['id']}/accept", headers=desk.auth(x))
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["conversation_id"] == first
        other = await queue_up(http, "c2")
        await desk.offer_for(y, other)  # x is at capacity (1)
        third = await queue_up(http, "c3")
        assert await desk.offers(x) == []  # both at capacity: c3 waits
        finished = await http.post(
            f"/api/agent/conversations/{first}/finish",
            json={"return_to_bot": True},
            headers=desk.auth(x),
        )
        assert finished.status_code == 200, finished.text
        assert [o["conversation_id"] for o in await desk.offers(x)] == [third]  # at once
        taken = await http.post(f"/api/agent/conversations/{third}/pickup", headers=desk.auth(y))
        assert taken.status_code in (403, 409)  # offered to x: not y's to take


async def test_an_agent_who_lets_offers_lapse_becomes_away(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": []}, assignment="auto", offer_seconds=30, max_lapses=2)
        conversation = await queue_up(http, "c1")
        first = await desk.offer_for("Ana", conversation)
        await time_env.sleep(31)
        await desk.offer_for("Ana", conversation, exclude=first["id"])  # the only agent
        await time_env.sleep(31)

        async def away() -> str | None:
            me = (await http.get("/api/agent/me", headers=desk.auth("Ana"))).json()
            return "away" if me["status"] == "away" else None

        await eventually(away, "Ana away after two lapses in a row")
        assert await desk.offers("Ana") == []
        await go(desk, "Ana", "available")  # back: the conversation rings again at once
        assert [o["conversation_id"] for o in await desk.offers("Ana")] == [conversation]


async def test_priority_and_skills_order_the_queue(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(
            http, {"Ana": [], "Beto": ["ingles"]}, skills="[Ingles]", available=False
        )
        plain = await queue_up(http, "c1")
        vip = await queue_up(http, "c2", "vip")
        queue = await http.get("/api/agent/queue", headers=desk.auth("Beto"))
        assert [item["conversation_id"] for item in queue.json()] == [vip, plain]
        assert (await http.get(f"/api/conversations/{vip}")).json()["position"] == 1
        assert (await http.get("/api/agent/queue", headers=desk.auth("Ana"))).json() == []
        await go(desk, "Ana", "available")
        nothing = await http.post("/api/agent/next", headers=desk.auth("Ana"))
        assert nothing.status_code == 409  # the skill is missing
        await go(desk, "Beto", "available")
        taken = await http.post("/api/agent/next", headers=desk.auth("Beto"))
        assert taken.json()["conversation_id"] == vip


async def test_a_transfer_to_an_auto_service_rings_there_at_once(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": []})
        admin = admin_headers()
        made = await http.post(
            "/api/omni/services", json={"name": "Financeiro", "assignment": "auto"}, headers=admin
        )
        assert made.status_code == 201, made.text
        caio = await http.post(
            "/api/omni/agents", json={"name": "Caio", "services": ["Financeiro"]}, headers=admin
        )
        desk.tokens["Caio"] = caio.json()["token"]
        await go(desk, "Caio", "available")
        conversation = await queue_up(http, "c1")
        assert await desk.offers("Ana") == []  # Suporte is manual
        taken = await http.post("/api/agent/next", headers=desk.auth("Ana"))
        assert taken.json()["conversation_id"] == conversation
        moved = await http.post(
            f"/api/agent/conversations/{conversation}/transfer",
            json={"service": "Financeiro"},
            headers=desk.auth("Ana"),
        )
        assert moved.status_code == 200, moved.text
        assert [o["conversation_id"] for o in await desk.offers("Caio")] == [conversation]
