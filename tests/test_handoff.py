"""The Humano block end to end: bot → Omni queue → agent → back to the bot, over HTTP.

Runs on the time-skipping test server, so abandonment and queue-notification timers are real
Temporal timers whose time is skipped.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import httpx
import pytest

from omni import webhooks
from omni.care_words import about_minutes
from tests.conftest import (
    admin_headers,
    conversation_handle,
    conversation_wid,
    pydantic_client,
    running_stack,
)
from workflows.contracts import PickupRequest
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio


def flow(key: str, *, schedule: str = "", service: str = "Suporte", options: str = "") -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: once}}
{schedule}
start: inicio
blocks:
  inicio: {{type: message, text: Olá!, next: menu}}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Sair, next: fim}}
  humano:
    type: human
    service: {service}
    text: Vou te transferir para um especialista.{options}
    on:
      finished: depois
      closed: fechado
      abandoned: fim
      unavailable: indisponivel
      no_agents: fim
      voicemail: fim
  depois: {{type: message, text: "{{{{ agent.name }}}} te atendeu. Algo mais?", next: menu}}
  fechado: {{type: end, text: "Estamos fechados. Voltamos {{{{ next_opening }}}}."}}
  indisponivel: {{type: end, text: Atendimento humano indisponível.}}
  fim: {{type: end, text: Até logo!}}
"""


@dataclass
class Omni:
    key: str
    agents: dict[str, dict[str, str]]
    webhook_secret: str | None = None

    def agent(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agents[name]['token']}"}


async def setup_omni(http: httpx.AsyncClient, **suporte: object) -> Omni:
    """The seed's steps 2 and 3 through the admin API, plus agents who are available."""
    admin = admin_headers()
    services = [
        {"name": "Suporte", "extension": "100", "abandon_seconds": 120, **suporte},
        {"name": "Financeiro", "extension": "200"},
        {"name": "Diretoria", "extension": "300", "hidden": True},
    ]
    secret = None
    for service in services:
        created = await http.post("/api/omni/services", json=service, headers=admin)
        assert created.status_code == 201, created.text
        secret = secret or (created.json()["webhook"] or {}).get("secret")
    integration = await http.post(
        "/api/omni/integrations", json={"service": "Suporte", "bot": "loja"}, headers=admin
    )
    agents = {}
    for name, services_of in [
        ("Ana", ["Suporte"]),
        ("Beto", ["Suporte"]),
        ("Caio", ["Financeiro"]),
    ]:
        made = await http.post(
            "/api/omni/agents", json={"name": name, "services": services_of}, headers=admin
        )
        agents[name] = made.json()
        token = {"Authorization": f"Bearer {made.json()['token']}"}
        await http.post("/api/agent/status", json={"status": "available"}, headers=token)
    return Omni(key=integration.json()["api_key"], agents=agents, webhook_secret=secret)


async def publish(http: httpx.AsyncClient, source: str) -> None:
    published = await http.put(
        "/api/bots/loja", content=source, headers={**admin_headers(), "Content-Type": "text/yaml"}
    )
    assert published.status_code in (200, 201), published.text


async def say(http: httpx.AsyncClient, contact: str, message_id: str, text: str) -> dict:
    body = {"contact_id": contact, "message_id": message_id, "text": text}
    answer = await http.post("/api/bots/loja/messages", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def texts(turn: dict) -> list[str]:
    return [reply["text"] for reply in turn["replies"]]


async def into_queue(http: httpx.AsyncClient, contact: str) -> dict:
    await say(http, contact, f"{contact}-1", "oi")
    turn = await say(http, contact, f"{contact}-2", "1")
    assert turn["status"] == "waiting", turn
    return turn


async def test_handoff_pickup_messages_and_back_to_the_bot(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        turn = await into_queue(http, "5511")
        assert texts(turn)[0] == "Vou te transferir para um especialista."
        notice = turn["replies"][1]
        assert notice["kind"] == "wait_time_notice"
        seconds = notice["data"]["estimated_wait_seconds"]
        assert notice["text"] == f"Tempo estimado de espera: {about_minutes(seconds)}."
        conversation = turn["conversation_id"]
        info = (await http.get(f"/api/conversations/{conversation}")).json()
        assert info["status"] == "waiting" and info["service"] == "Suporte"
        assert info["position"] == 1 and info["estimated_wait_seconds"] is not None

        waiting = (await say(http, "5511", "5511-3", "alguém aí?"))["replies"]
        assert waiting == []  # the bot is silent while the customer waits for a human
        again = (await say(http, "5511", "5511-3b", "?"))["replies"]
        assert again == []  # and the estimated wait is told once only

        queue = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
        assert [(q["conversation_id"], q["service"]) for q in queue] == [(conversation, "Suporte")]
        assert queue[0]["preview"] == "1"

        picked = await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        assert picked.status_code == 200, picked.text
        taken = picked.json()
        assert taken["service"] == "Suporte"
        customer_said = [m["text"] for m in taken["transcript"] if m["from"] == "customer"]
        assert customer_said == ["oi", "1", "alguém aí?", "?"]

        for _ in range(2):  # the agent screen retries: the same message_id is sent once
            sent = await http.post(
                f"/api/agent/conversations/{conversation}/messages",
                json={"text": "Olá, sou a Ana. Como ajudo?", "message_id": "ana-1"},
                headers=omni.agent("Ana"),
            )
            assert sent.status_code == 200, sent.text
        turn = await say(http, "5511", "5511-4", "quero a segunda via")
        agent_says = [r for r in turn["replies"] if r["from"] == "agent"]
        assert [(r["text"], r["data"]) for r in agent_says] == [
            ("Olá, sou a Ana. Como ajudo?", {"agent": "Ana"})
        ]
        assert turn["status"] == "in_service"

        other = await http.post(
            f"/api/agent/conversations/{conversation}/messages",
            json={"text": "oi"},
            headers=omni.agent("Beto"),
        )
        assert other.status_code == 403

        finished = await http.post(
            f"/api/agent/conversations/{conversation}/finish",
            json={"return_to_bot": True},
            headers=omni.agent("Ana"),
        )
        assert finished.status_code == 200, finished.text
        handle = conversation_handle(time_env, conversation_wid("loja", "5511"))
        snapshot = await handle.query(ConversationWorkflow.snapshot)
        assert snapshot.status == "bot" and snapshot.block == "menu"
        turn = await say(http, "5511", "5511-5", "2")
        # what the customer had not seen yet comes with the reply: the end of human service,
        # the bot taking over again, and the answer to "2"
        assert texts(turn)[0] == "Atendimento humano encerrado."
        assert texts(turn)[1] == "Ana te atendeu. Algo mais?"
        assert texts(turn)[-1] == "Até logo!"


async def test_two_agents_racing_for_one_conversation_get_one_winner(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "race"))["conversation_id"]
        url = f"/api/agent/conversations/{conversation}/pickup"
        answers = await asyncio.gather(
            http.post(url, headers=omni.agent("Ana")), http.post(url, headers=omni.agent("Beto"))
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        caio = await http.post(url, headers=omni.agent("Caio"))
        assert caio.status_code == 403
        # the winner's screen sends the pickup again (its answer was lost): the same answer;
        # the loser's is still refused
        winner, loser = ("Ana", "Beto") if answers[0].status_code == 200 else ("Beto", "Ana")
        again = await http.post(url, headers=omni.agent(winner))
        assert again.status_code == 200, again.text
        assert again.json()["conversation_id"] == conversation
        assert (await http.post(url, headers=omni.agent(loser))).status_code == 409
        # the workflow says it was a repeat, so `next` (which wants a new one) moves on
        handle = conversation_handle(time_env, conversation_wid("loja", "race"))
        agent = omni.agents[winner]
        repeat = await handle.execute_update(
            ConversationWorkflow.pickup, PickupRequest(agent_id=agent["id"], agent_name=winner)
        )
        assert repeat.repeated and repeat.conversation_id == conversation


async def test_one_agent_asking_next_twice_at_once_gets_two_conversations(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        roomy = await http.patch(
            f"/api/omni/agents/{omni.agents['Ana']['id']}",
            json={"capacity": 2},
            headers=admin_headers(),
        )
        assert roomy.status_code == 200, roomy.text
        waiting = {(await into_queue(http, f"dupla-{i}"))["conversation_id"] for i in (1, 2)}
        taken = await asyncio.gather(
            *(http.post("/api/agent/next", headers=omni.agent("Ana")) for _ in (1, 2))
        )
        assert [t.status_code for t in taken] == [200, 200], [t.text for t in taken]
        assert {t.json()["conversation_id"] for t in taken} == waiting


async def test_next_takes_the_oldest_and_capacity_is_respected(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        first = (await into_queue(http, "primeiro"))["conversation_id"]
        await into_queue(http, "segundo")
        took = await http.post("/api/agent/next", headers=omni.agent("Ana"))
        assert took.status_code == 200 and took.json()["conversation_id"] == first
        full = await http.post("/api/agent/next", headers=omni.agent("Ana"))
        assert full.status_code == 409 and "1 of 1" in full.json()["detail"]
        nothing = await http.post("/api/agent/next", headers=omni.agent("Caio"))
        assert nothing.status_code == 409


async def test_customer_inactivity_abandons_the_queue(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "sumido"))["conversation_id"]
        handle = conversation_handle(time_env, conversation_wid("loja", "sumido"))
        async with time_env.time_skipping_unlocked():  # 120 s of abandon_seconds pass
            snapshot = await handle.result()
        assert snapshot.status == "ended"
        transcript = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        assert [m["text"] for m in transcript][-2:] == [
            "Atendimento encerrado por inatividade.",
            "Até logo!",
        ]
        services = (await http.get("/api/omni/services", headers=admin_headers())).json()
        service = next(s for s in services if s["name"] == "Suporte")
        metrics = (
            await http.get(f"/api/omni/services/{service['id']}/metrics", headers=admin_headers())
        ).json()
        assert metrics["abandoned"] == 1 and metrics["waiting"] == 0


async def test_leaving_while_waiting_is_abandonment(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "saiu"))["conversation_id"]
        left = await http.post(f"/api/conversations/{conversation}/leave")
        assert left.status_code == 202
        handle = conversation_handle(time_env, conversation_wid("loja", "saiu"))
        assert (await handle.result()).status == "ended"
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
        assert queue == []


async def test_queue_notifications_arrive_at_their_interval(time_env, settings, engine):
    cards = [{"title": "Enquanto espera", "text": "Veja nosso site"}]
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(
            http,
            abandon_seconds=1000,
            queue_notifications={"enabled": True, "interval_seconds": 300, "cards": cards},
        )
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "espera"))["conversation_id"]
        handle = conversation_handle(time_env, conversation_wid("loja", "espera"))
        async with time_env.time_skipping_unlocked():
            snapshot = await handle.result()  # 3 cards at 300/600/900 s, abandoned at 1000 s
        assert snapshot.status == "ended"
        transcript = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        sent = [m for m in transcript if m["kind"] == "card"]
        assert len(sent) == 3
        assert sent[0]["data"]["cards"][0]["title"] == "Enquanto espera"
        queued_at = datetime.fromisoformat(
            next(m["at"] for m in transcript if m["text"].startswith("Vou te transferir"))
        )
        offsets = [(datetime.fromisoformat(m["at"]) - queued_at).total_seconds() for m in sent]
        assert [round(o) for o in offsets] == [300, 600, 900]  # the service's interval


async def test_closed_outside_hours_with_the_next_opening(time_env, settings, engine):
    schedule = """schedule:
  timezone: America/Sao_Paulo
  hours: {mon-sun: ["08:00-18:00"]}
  emergency_closed: true"""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key, schedule=schedule))
        await say(http, "fechado", "1", "oi")
        turn = await say(http, "fechado", "2", "1")
        assert texts(turn) == ["Estamos fechados. Voltamos assim que possível."]
        assert turn["status"] == "ended"


async def test_a_revoked_key_makes_human_service_unavailable(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        integrations = (await http.get("/api/omni/integrations", headers=admin_headers())).json()
        revoked = await http.delete(
            f"/api/omni/integrations/{integrations[0]['id']}", headers=admin_headers()
        )
        assert revoked.status_code == 204
        await say(http, "revogado", "1", "oi")
        turn = await say(http, "revogado", "2", "1")
        assert texts(turn) == ["Atendimento humano indisponível."]


async def test_transfers_follow_the_service_rules(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "transf"))["conversation_id"]
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        url = f"/api/agent/conversations/{conversation}/transfer"
        hidden = await http.post(url, json={"extension": "300"}, headers=omni.agent("Ana"))
        assert hidden.status_code == 403 and "hidden" in hidden.json()["detail"]
        unknown = await http.post(url, json={"extension": "999"}, headers=omni.agent("Ana"))
        assert unknown.status_code == 404
        same = await http.post(url, json={"service": "Suporte"}, headers=omni.agent("Ana"))
        assert same.status_code == 403
        moved = await http.post(url, json={"extension": "200"}, headers=omni.agent("Ana"))
        assert moved.status_code == 200 and moved.json()["service"] == "Financeiro"
        info = (await http.get(f"/api/conversations/{conversation}")).json()
        assert info["status"] == "waiting" and info["service"] == "Financeiro"
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Caio"))).json()
        assert [q["conversation_id"] for q in queue] == [conversation]
        taken = await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Caio")
        )
        customer_said = [m["text"] for m in taken.json()["transcript"] if m["from"] == "customer"]
        assert customer_said == ["oi", "1"]


async def test_closed_tells_when_human_service_opens_again(time_env, settings, engine):
    server_now = await time_env.get_current_time()  # the test server's clock, skips included
    local = server_now.astimezone(ZoneInfo("America/Sao_Paulo")) + timedelta(hours=3)
    window = f"{local:%H}:00-{(local + timedelta(hours=1)):%H}:00"
    schedule = f"""schedule:
  timezone: America/Sao_Paulo
  hours: {{mon-sun: ["{window}"]}}"""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key, schedule=schedule))
        await say(http, "cedo", "1", "oi")
        [closed] = texts(await say(http, "cedo", "2", "1"))
        day = "hoje" if local.date() == (local - timedelta(hours=3)).date() else "amanhã"
        assert closed == f"Estamos fechados. Voltamos {day} às {local:%H}:00."


async def test_no_agent_logged_in_is_no_agents_when_the_block_checks(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        for name in ("Ana", "Beto"):
            await http.post(
                "/api/agent/status", json={"status": "offline"}, headers=omni.agent(name)
            )
        await publish(http, flow(omni.key, options="\n    check_agents_online: true"))
        await say(http, "ninguem", "1", "oi")
        assert texts(await say(http, "ninguem", "2", "1")) == ["Até logo!"]
        await http.post("/api/agent/status", json={"status": "paused"}, headers=omni.agent("Ana"))
        await say(http, "pausado", "1", "oi")
        assert (await say(http, "pausado", "2", "1"))["status"] == "waiting"


async def test_agent_name_is_hidden_when_the_block_says_so(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key, options="\n    show_agent_name: false"))
        conversation = (await into_queue(http, "anonimo"))["conversation_id"]
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        await http.post(
            f"/api/agent/conversations/{conversation}/messages",
            json={"text": "Olá!"},
            headers=omni.agent("Ana"),
        )
        turn = await say(http, "anonimo", "anonimo-3", "oi")
        notice, agent = turn["replies"]
        assert notice["text"] == "Você está sendo atendido por um de nossos especialistas."
        assert (agent["from"], agent["text"], agent["data"]) == ("agent", "Olá!", None)


async def test_voicemail_when_no_agent_is_available(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, voicemail_seconds=60)
        for name in ("Ana", "Beto"):
            await http.post(
                "/api/agent/status", json={"status": "paused"}, headers=omni.agent(name)
            )
        await publish(http, flow(omni.key))
        turn = await into_queue_or_voicemail(http, "recado")
        assert turn["status"] == "voicemail"
        assert "Deixe sua mensagem" in texts(turn)[-1]
        await say(http, "recado", "recado-3", "Meu pedido 123 não chegou.")
        await say(http, "recado", "recado-4", "Me liguem, por favor.")
        handle = conversation_handle(time_env, conversation_wid("loja", "recado"))
        async with time_env.time_skipping_unlocked():  # the 60 s of "Caixa Postal" pass
            assert (await handle.result()).status == "ended"
        left = await http.get("/api/omni/voicemails?service=Suporte", headers=admin_headers())
        [voicemail] = left.json()
        assert voicemail["text"] == "Meu pedido 123 não chegou.\nMe liguem, por favor."
        assert voicemail["contact_id"] == "recado" and voicemail["bot"] == "loja"
        transcript = (
            await http.get(f"/api/conversations/{turn['conversation_id']}/messages")
        ).json()
        assert [m["text"] for m in transcript][-2:] == [
            "Recebemos sua mensagem. Obrigado!",
            "Até logo!",
        ]


async def test_a_customer_who_leaves_during_the_voicemail_leaves_the_message(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, voicemail_seconds=60)
        for name in ("Ana", "Beto"):
            await http.post(
                "/api/agent/status", json={"status": "paused"}, headers=omni.agent(name)
            )
        await publish(http, flow(omni.key))
        turn = await into_queue_or_voicemail(http, "saiu")
        assert turn["status"] == "voicemail"
        await say(http, "saiu", "saiu-3", "Quero cancelar o pedido 77.")
        left = await http.post(f"/api/conversations/{turn['conversation_id']}/leave")
        assert left.status_code == 202, left.text
        handle = conversation_handle(time_env, conversation_wid("loja", "saiu"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        stored = await http.get("/api/omni/voicemails?service=Suporte", headers=admin_headers())
        [voicemail] = stored.json()
        assert voicemail["text"] == "Quero cancelar o pedido 77."


async def test_voicemail_after_the_blocks_max_wait(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, voicemail_seconds=30, abandon_seconds=10_000)
        await publish(http, flow(omni.key, options="\n    max_wait_seconds: 600"))
        turn = await into_queue(http, "demorou")
        handle = conversation_handle(time_env, conversation_wid("loja", "demorou"))
        async with time_env.time_skipping_unlocked():  # 600 s waiting, then 30 s of voicemail
            assert (await handle.result()).status == "ended"
        transcript = (
            await http.get(f"/api/conversations/{turn['conversation_id']}/messages")
        ).json()
        said = [m["text"] for m in transcript]
        assert any("Deixe sua mensagem" in text for text in said)
        assert said[-1] == "Até logo!"
        entries = await http.get("/api/omni/voicemails", headers=admin_headers())
        assert entries.json() == []  # the customer said nothing: no voicemail is stored


async def into_queue_or_voicemail(http: httpx.AsyncClient, contact: str) -> dict:
    await say(http, contact, f"{contact}-1", "oi")
    return await say(http, contact, f"{contact}-2", "1")


class Receiver:
    """A webhook receiver on loopback that verifies signatures and can be "down" at first."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                down = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(503 if down else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/eventos"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_webhook_events_are_signed_and_redelivered_after_the_receiver_was_down(
    time_env, settings, engine
):
    receiver = Receiver(failures=2)
    try:
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, webhook={"enabled": True, "url": receiver.url})
            services = (await http.get("/api/omni/services", headers=admin_headers())).json()
            suporte = next(s for s in services if s["name"] == "Suporte")
            assert "secret" not in suporte["webhook"] or not suporte["webhook"]["secret"]
            await publish(http, flow(omni.key))
            conversation = (await into_queue(http, "gancho"))["conversation_id"]
            base = f"/api/agent/conversations/{conversation}"
            await http.post(f"{base}/pickup", headers=omni.agent("Ana"))
            await http.post(f"{base}/messages", json={"text": "Oi!"}, headers=omni.agent("Ana"))
            await say(http, "gancho", "gancho-3", "Olá")
            await http.post(
                f"{base}/finish", json={"return_to_bot": False}, headers=omni.agent("Ana")
            )
            handle = conversation_handle(time_env, conversation_wid("loja", "gancho"))
            async with time_env.time_skipping_unlocked():  # retry backoff is skipped
                await handle.result()
    finally:
        receiver.close()
    deliveries = [(h, json.loads(b), b) for h, b in receiver.received]
    first_id = deliveries[0][0]["webhook-id"]
    assert [h["webhook-id"] for h, _, _ in deliveries[:3]] == [first_id] * 3  # 2 failures, 1 ok
    delivered = [event for _, event, _ in deliveries[2:]]
    assert [event["type"] for event in delivered] == [
        "conversation.queued",
        "conversation.picked_up",
        "conversation.message",
        "conversation.message",
        "conversation.finished",
    ]
    assert [e["data"].get("from") for e in delivered[2:4]] == ["agent", "customer"]
    assert delivered[1]["data"]["agent"] == "Ana" and delivered[0]["data"]["service"] == "Suporte"
    secret = omni.webhook_secret
    for headers, event, body in deliveries:
        assert webhooks.verify(
            secret,
            headers["webhook-id"],
            int(headers["webhook-timestamp"]),
            body,
            headers["webhook-signature"],
        )
        assert event["id"] == headers["webhook-id"]


async def test_an_agent_of_another_service_is_refused_on_every_conversation_route(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "alheio"))["conversation_id"]
        base = f"/api/agent/conversations/{conversation}"
        routes = [
            ("pickup", None),
            ("messages", {"text": "oi"}),
            ("transfer", {"extension": "200"}),
            ("finish", {"return_to_bot": True}),
        ]
        for action, body in routes:
            answer = await http.post(f"{base}/{action}", json=body, headers=omni.agent("Caio"))
            assert answer.status_code == 403, (action, answer.text)
        unknown = await http.post(
            "/api/agent/conversations/nao-existe/pickup", headers=omni.agent("Caio")
        )
        assert unknown.status_code == 404
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Caio"))).json()
        assert queue == []


async def test_a_transfer_group_limits_where_transfers_go(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        admin = admin_headers()
        await http.post(
            "/api/omni/services", json={"name": "Vendas", "extension": "400"}, headers=admin
        )
        services = (await http.get("/api/omni/services", headers=admin)).json()
        suporte = next(s for s in services if s["name"] == "Suporte")
        grouped = await http.patch(
            f"/api/omni/services/{suporte['id']}",
            json={"transfer_group": ["Vendas"]},
            headers=admin,
        )
        assert grouped.status_code == 200, grouped.text
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "grupo"))["conversation_id"]
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        url = f"/api/agent/conversations/{conversation}/transfer"
        refused = await http.post(url, json={"service": "Financeiro"}, headers=omni.agent("Ana"))
        assert refused.status_code == 403 and "Vendas" in refused.json()["detail"]
        allowed = await http.post(url, json={"service": "Vendas"}, headers=omni.agent("Ana"))
        assert allowed.status_code == 200


async def test_a_worker_killed_in_the_middle_of_a_handoff_loses_nothing(time_env, settings, engine):
    """The worker stops while the customer waits; a new worker picks everything up again.

    The first worker keeps no workflow cache: a dead worker's sticky queue would otherwise
    hold the next workflow task until the test server's sticky timeout (a test-server
    artefact: a real server is told at shutdown)."""
    from concurrent.futures import ThreadPoolExecutor

    from api.app import create_app
    from tests.conftest import api_client
    from worker import build_worker

    client = pydantic_client(time_env)
    app = create_app(settings, engine=engine, client=client)
    async with api_client(app) as http:
        with ThreadPoolExecutor(max_workers=4) as executor:
            first = build_worker(
                client, engine, settings.task_queue, executor, max_cached_workflows=0
            )
            async with first:
                omni = await setup_omni(http)
                await publish(http, flow(omni.key))
                conversation = (await into_queue(http, "resiste"))["conversation_id"]
            # no worker now: the customer's message is still accepted, durably
            body = {"contact_id": "resiste", "message_id": "resiste-3", "text": "ainda aqui"}
            settings.reply_timeout_seconds = 1
            accepted = await http.post("/api/bots/loja/messages", json=body)
            assert accepted.status_code == 202
            async with build_worker(client, engine, settings.task_queue, executor):
                settings.reply_timeout_seconds = 10
                picked = await http.post(
                    f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
                )
                assert picked.status_code == 200, picked.text
                said = [m["text"] for m in picked.json()["transcript"] if m["from"] == "customer"]
                assert said == ["oi", "1", "ainda aqui"]
                finished = await http.post(
                    f"/api/agent/conversations/{conversation}/finish",
                    json={"return_to_bot": False},
                    headers=omni.agent("Ana"),
                )
                assert finished.status_code == 200
                handle = client.get_workflow_handle_for(
                    ConversationWorkflow.run, conversation_wid("loja", "resiste")
                )
                assert (await handle.result()).status == "ended"


async def test_closed_on_a_holiday(time_env, settings, engine):
    server_now = await time_env.get_current_time()
    today = server_now.astimezone(ZoneInfo("America/Sao_Paulo")).date()
    schedule = f"""schedule:
  timezone: America/Sao_Paulo
  hours: {{mon-sun: ["00:00-24:00"]}}
  holidays:
    - {{date: "{today.isoformat()}", name: Feriado de teste}}"""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key, schedule=schedule))
        await say(http, "feriado", "1", "oi")
        [closed] = texts(await say(http, "feriado", "2", "1"))
        assert closed == "Estamos fechados. Voltamos amanhã às 00:00."


async def test_check_hours_off_hands_over_even_when_closed(time_env, settings, engine):
    schedule = """schedule:
  timezone: America/Sao_Paulo
  hours: {mon-sun: ["08:00-18:00"]}
  emergency_closed: true"""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        options = "\n    check_hours: false"
        await publish(http, flow(omni.key, schedule=schedule, options=options))
        await say(http, "sempre", "1", "oi")
        assert (await say(http, "sempre", "2", "1"))["status"] == "waiting"


async def test_the_block_may_hand_over_to_any_service_the_bot_is_integrated_with(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key, service="Financeiro"))
        await say(http, "fin", "1", "oi")
        refused = await say(http, "fin", "2", "1")  # no integration of loja with Financeiro
        assert texts(refused) == ["Atendimento humano indisponível."]
        added = await http.post(
            "/api/omni/integrations",
            json={"service": "Financeiro", "bot": "loja"},
            headers=admin_headers(),
        )
        assert added.status_code == 201
        await say(http, "fin2", "1", "oi")
        queued = await say(http, "fin2", "2", "1")  # the Suporte key proves the bot
        assert queued["status"] == "waiting"
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Caio"))).json()
        assert [q["service"] for q in queue] == ["Financeiro"]


async def test_after_a_transfer_the_queue_cards_are_the_target_services(time_env, settings, engine):
    suporte_cards = [{"title": "Suporte diz", "text": "Veja a central de ajuda"}]
    financeiro_cards = [{"title": "Financeiro diz", "text": "Tenha o boleto em mãos"}]
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(
            http,
            queue_notifications={"enabled": True, "interval_seconds": 100, "cards": suporte_cards},
        )
        admin = admin_headers()
        services = (await http.get("/api/omni/services", headers=admin)).json()
        financeiro = next(s for s in services if s["name"] == "Financeiro")
        changed = await http.patch(
            f"/api/omni/services/{financeiro['id']}",
            json={
                "abandon_seconds": 1000,
                "queue_notifications": {
                    "enabled": True,
                    "interval_seconds": 300,
                    "cards": financeiro_cards,
                },
            },
            headers=admin,
        )
        assert changed.status_code == 200, changed.text
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "cartoes"))["conversation_id"]
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        url = f"/api/agent/conversations/{conversation}/transfer"
        moved = await http.post(url, json={"service": "Financeiro"}, headers=omni.agent("Ana"))
        assert moved.status_code == 200, moved.text
        handle = conversation_handle(time_env, conversation_wid("loja", "cartoes"))
        async with time_env.time_skipping_unlocked():
            snapshot = await handle.result()  # Financeiro: cards at 300/600/900 s, abandoned 1000
        assert snapshot.status == "ended"
        transcript = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        moved_at = datetime.fromisoformat(
            next(m["at"] for m in transcript if m["text"] == "Transferindo para Financeiro.")
        )
        sent = [m for m in transcript if m["kind"] == "card"]
        titles = [m["data"]["cards"][0]["title"] for m in sent]
        assert titles == ["Financeiro diz"] * 3
        offsets = [(datetime.fromisoformat(m["at"]) - moved_at).total_seconds() for m in sent]
        # the target's interval: timers 300 s apart; the first counts from the transfer's SQL
        # step, which real time (it passes on the test server too) may put a second later
        assert [round(b - a) for a, b in itertools.pairwise(offsets)] == [300, 300]
        assert 300 <= round(offsets[0]) <= 302
