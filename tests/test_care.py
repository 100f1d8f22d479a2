"""The care rules end to end on the time-skipping server (issue 12): periodic wait notices,
an agent who stops answering (alert, back to the front of the queue), a customer who stops
answering (warning, close), the CSAT survey answered and ignored."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import admin_headers, conversation_handle, conversation_wid, running_stack
from tests.test_handoff import Omni, Receiver, publish, say, setup_omni, texts

pytestmark = pytest.mark.asyncio


def flow(key: str, notice: str = "never") -> str:
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: {notice}}}
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
    service: Suporte
    text: Vou te transferir para um especialista.
    on: {{finished: depois, closed: fim, abandoned: fim, unavailable: fim, no_agents: fim,
          voicemail: fim}}
  depois:
    type: message
    text: "Nota: {{{{ csat.score }}}} ({{{{ csat.comment }}}}) respondida: {{{{ csat.answered }}}}"
    next: menu
  fim: {{type: end, text: Até logo!}}
"""


async def queued(http: httpx.AsyncClient, care: dict[str, Any], notice: str = "never") -> Omni:
    omni = await setup_omni(http, care=care, abandon_seconds=1000)
    await publish(http, flow(omni.key, notice))
    return omni


async def served(http: httpx.AsyncClient, omni: Omni, contact: str) -> str:
    await say(http, contact, f"{contact}-1", "oi")
    conversation = (await say(http, contact, f"{contact}-2", "1"))["conversation_id"]
    picked = await http.post(
        f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
    )
    assert picked.status_code == 200, picked.text
    return str(conversation)


async def agent_says(http: httpx.AsyncClient, omni: Omni, conversation: str, text: str) -> None:
    sent = await http.post(
        f"/api/agent/conversations/{conversation}/messages",
        json={"text": text},
        headers=omni.agent("Ana"),
    )
    assert sent.status_code == 200, sent.text


async def transcript(http: httpx.AsyncClient, conversation: str) -> list[dict[str, Any]]:
    return list((await http.get(f"/api/conversations/{conversation}/messages")).json())


async def test_periodic_wait_notices_at_the_interval_when_nothing_changes(
    time_env, settings, engine
):
    care = {"wait_notice_interval_seconds": 60, "wait_notice_repeat": 5}
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care, notice="periodic")
        await say(http, "espera", "espera-1", "oi")
        turn = await say(http, "espera", "espera-2", "1")
        assert turn["replies"][-1]["kind"] == "wait_time_notice"  # the first, at once
        handle = conversation_handle(time_env, conversation_wid("loja", "espera"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"  # abandoned at 1000 s
        said = await transcript(http, turn["conversation_id"])
        notices = [m for m in said if m["kind"] == "wait_time_notice"]
        first = datetime.fromisoformat(notices[0]["at"])
        offsets = [(datetime.fromisoformat(m["at"]) - first).total_seconds() for m in notices]
        # position and estimate never moved: a sign of life every 5 checks of 60 s
        expected = [0, 300, 600, 900]
        assert len(offsets) == len(expected)
        assert all(abs(o - e) < 5 for o, e in zip(offsets, expected, strict=True)), offsets
        assert notices[1]["text"].startswith("Você é o 1º da fila.")
        assert notices[1]["data"]["position"] == 1
        assert omni.key


async def test_a_silent_agent_raises_an_alert_and_the_customer_goes_back_to_the_queue(
    time_env, settings, engine
):
    care = {"agent_reply_seconds": 120, "agent_silence_action": "requeue"}
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care)
        conversation = await served(http, omni, "largado")
        await agent_says(http, omni, conversation, "Olá, sou a Ana.")
        await say(http, "largado", "largado-3", "preciso de ajuda")
        handle = conversation_handle(time_env, conversation_wid("loja", "largado"))
        async with time_env.time_skipping_unlocked():  # 120 s: requeued; 1000 s: abandoned
            assert (await handle.result()).status == "ended"
        said = [m["text"] for m in await transcript(http, conversation)]
        assert any(text.startswith("Desculpe a demora. Você voltou para o início") for text in said)
        assert said[-2:] == ["Atendimento encerrado por inatividade.", "Até logo!"]
        alerts = (await http.get("/api/supervisor/alerts", headers=admin_headers())).json()
        assert [(a["kind"], a["agent"], a["service"], a["conversation_id"]) for a in alerts] == [
            ("agent_silence", "Ana", "Suporte", conversation)
        ]


async def test_a_silent_customer_is_warned_then_the_conversation_closes(time_env, settings, engine):
    care = {"customer_reply_seconds": 300, "customer_close_seconds": 120}
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care)
        conversation = await served(http, omni, "sumiu")
        await agent_says(http, omni, conversation, "Posso ajudar?")
        handle = conversation_handle(time_env, conversation_wid("loja", "sumiu"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        said = await transcript(http, conversation)
        asked = datetime.fromisoformat(next(m["at"] for m in said if m["from"] == "agent"))
        notices = [(m["text"], datetime.fromisoformat(m["at"]) - asked) for m in said[-2:]]
        assert [(text[:22], round(delta.total_seconds())) for text, delta in notices] == [
            ("Você ainda está aí? Se", 300),
            ("Atendimento encerrado ", 420),
        ]
        assert notices[0][0].startswith("Você ainda está aí? Sem resposta em 2 minutos")
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
        assert queue == []


async def test_csat_answered_is_stored_and_reaches_the_flow(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, {"csat": True})
        conversation = await served(http, omni, "nota")
        finished = await http.post(
            f"/api/agent/conversations/{conversation}/finish",
            json={"return_to_bot": True},
            headers=omni.agent("Ana"),
        )
        assert finished.status_code == 200, finished.text
        turn = await say(http, "nota", "nota-3", "talvez")  # not a score: asked again
        survey = turn["replies"]
        assert survey[-1]["kind"] == "menu" and survey[-1]["options"] == ["1", "2", "3", "4", "5"]
        turn = await say(http, "nota", "nota-4", "5 - muito atenciosa")
        assert texts(turn)[:2] == [
            "Obrigado pela sua avaliação!",
            "Nota: 5 (muito atenciosa) respondida: True",
        ]
        assert texts(turn)[-1].startswith("Como posso ajudar?")
        summary = (await http.get("/api/supervisor/csat", headers=admin_headers())).json()
        assert [
            (a["conversation_id"], a["service"], a["agent"], a["score"], a["comment"])
            for a in summary["answers"]
        ] == [(conversation, "Suporte", "Ana", 5, "muito atenciosa")]
        assert summary["average_by_service"] == {"Suporte": 5.0}


async def test_csat_ignored_times_out_and_the_bot_goes_on(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, {"csat": True, "csat_timeout_seconds": 120})
        conversation = await served(http, omni, "calado")
        finished = await http.post(
            f"/api/agent/conversations/{conversation}/finish",
            json={"return_to_bot": False},
            headers=omni.agent("Ana"),
        )
        assert finished.status_code == 200, finished.text
        handle = conversation_handle(time_env, conversation_wid("loja", "calado"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        said = await transcript(http, conversation)
        assert said[-1]["kind"] == "menu" and said[-1]["text"].startswith("Como você avalia")
        summary = (await http.get("/api/supervisor/csat", headers=admin_headers())).json()
        assert summary == {"answers": [], "average_by_service": {}}


async def test_csat_is_a_webhook_event(time_env, settings, engine):
    receiver = Receiver(failures=0)
    try:
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(
                http, care={"csat": True}, webhook={"enabled": True, "url": receiver.url}
            )
            await publish(http, flow(omni.key))
            conversation = await served(http, omni, "gancho")
            await http.post(
                f"/api/agent/conversations/{conversation}/finish",
                json={"return_to_bot": True},
                headers=omni.agent("Ana"),
            )
            await say(http, "gancho", "gancho-3", "4")
            await http.post(f"/api/conversations/{conversation}/leave")
            handle = conversation_handle(time_env, conversation_wid("loja", "gancho"))
            async with time_env.time_skipping_unlocked():
                await handle.result()
    finally:
        receiver.close()
    events = [json.loads(body) for _, body in receiver.received]
    csat = [e for e in events if e["type"] == "conversation.csat"]
    assert [(e["data"]["score"], e["data"]["comment"], e["data"]["agent"]) for e in csat] == [
        (4, None, "Ana")
    ]
    assert [e["type"] for e in events].index("conversation.finished") < events.index(csat[0])


async def test_a_better_place_in_line_is_told_at_the_next_look(time_env, settings, engine):
    care = {"wait_notice_interval_seconds": 60, "wait_notice_repeat": 100}
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care, notice="periodic")
        first = await served(http, omni, "primeiro")  # Ana takes the first customer...
        await say(http, "segundo", "segundo-1", "oi")
        turn = await say(http, "segundo", "segundo-2", "1")
        await say(http, "terceiro", "terceiro-1", "oi")
        third = await say(http, "terceiro", "terceiro-2", "1")
        assert third["replies"][-1]["data"]["position"] == 2
        picked = await http.post(  # ... and Beto the second: the third is next
            f"/api/agent/conversations/{turn['conversation_id']}/pickup",
            headers=omni.agent("Beto"),
        )
        assert picked.status_code == 200, picked.text
        handle = conversation_handle(time_env, conversation_wid("loja", "terceiro"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"  # abandoned at 1000 s
        said = await transcript(http, third["conversation_id"])
        notices = [m for m in said if m["kind"] == "wait_time_notice"]
        assert [m["data"]["position"] for m in notices] == [2, 1]
        queued_at = datetime.fromisoformat(notices[0]["at"])
        assert abs((datetime.fromisoformat(notices[1]["at"]) - queued_at).total_seconds() - 60) < 5
        assert first
