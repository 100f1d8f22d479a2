"""Care rules after review (issue 12): a requeue restarts the wait's clocks, failing care steps
do not fail the conversation, an agent's message clears the silent-customer warning, a 0–10
CSAT answer is asked again. On the time-skipping server."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.test_care import agent_says, flow, queued, served, transcript
from tests.test_handoff import publish, say, setup_omni

pytestmark = pytest.mark.asyncio


def at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["at"])


def first(said: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    return next(m for m in said if m["text"].startswith(prefix))


async def test_after_a_requeue_abandonment_counts_from_the_requeue(time_env, settings, engine):
    care = {"agent_reply_seconds": 1200, "agent_silence_action": "requeue"}  # > abandon (1000)
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care)
        conversation = await served(http, omni, "longo")
        await say(http, "longo", "longo-3", "preciso de ajuda")
        handle = conversation_handle(time_env, conversation_wid("loja", "longo"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        said = await transcript(http, conversation)
    back = at(first(said, "Desculpe a demora"))
    closed = at(first(said, "Atendimento encerrado por inatividade"))
    assert (closed - back).total_seconds() >= 1000  # not at once: the wait starts again


async def test_a_failing_alert_does_not_fail_the_conversation(time_env, settings, engine):
    care = {"agent_reply_seconds": 120, "agent_silence_action": "requeue"}
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care)
        conversation = await served(http, omni, "falha")
        await say(http, "falha", "falha-3", "preciso de ajuda")
        with engine.begin() as conn:  # the alerts cannot be stored
            conn.execute(sa.text("ALTER TABLE supervisor_alerts RENAME TO alerts_away"))
        handle = conversation_handle(time_env, conversation_wid("loja", "falha"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        said = [m["text"] for m in await transcript(http, conversation)]
    assert any(text.startswith("Desculpe a demora") for text in said)  # requeued all the same
    assert said[-2:] == ["Atendimento encerrado por inatividade.", "Até logo!"]


async def test_a_failing_wait_estimate_skips_the_look(time_env, settings, engine):
    care = {"wait_notice_interval_seconds": 60, "wait_notice_repeat": 1}
    async with running_stack(time_env, settings, engine) as http:
        await queued(http, care, notice="periodic")
        await say(http, "cego", "cego-1", "oi")
        conversation = (await say(http, "cego", "cego-2", "1"))["conversation_id"]
        with engine.begin() as conn:  # the queue cannot be read for a while
            conn.execute(sa.text("ALTER TABLE queue_entries RENAME TO entries_away"))
        await time_env.sleep(200)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE entries_away RENAME TO queue_entries"))
        handle = conversation_handle(time_env, conversation_wid("loja", "cego"))
        async with time_env.time_skipping_unlocked():  # abandoned at 1000 s
            assert (await handle.result()).status == "ended"
        said = await transcript(http, conversation)
    notices = [m for m in said if m["kind"] == "wait_time_notice"]
    assert len(notices) >= 2  # looks after the failure went on
    assert said[-2]["text"] == "Atendimento encerrado por inatividade."


async def test_the_agent_speaking_again_clears_the_silence_warning(time_env, settings, engine):
    care = {"customer_reply_seconds": 300, "customer_close_seconds": 120}
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, care)
        conversation = await served(http, omni, "volta")
        await agent_says(http, omni, conversation, "Posso ajudar?")
        await time_env.sleep(330)  # warned at 300 s
        await agent_says(http, omni, conversation, "Ainda está aí?")
        handle = conversation_handle(time_env, conversation_wid("loja", "volta"))
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        said = await transcript(http, conversation)
    again = at(first(said, "Ainda está aí?"))
    warnings = [at(m) for m in said if m["text"].startswith("Você ainda está aí?")]
    closed = at(first(said, "Atendimento encerrado por falta"))
    assert len(warnings) == 2 and round((warnings[1] - again).total_seconds()) == 300
    assert round((closed - again).total_seconds()) == 420  # not 90 s after the agent spoke


async def test_a_0_to_10_csat_answer_is_asked_again(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, care={"csat": True})
        await publish(http, flow(omni.key))
        conversation = await served(http, omni, "dez")
        finished = await http.post(
            f"/api/agent/conversations/{conversation}/finish",
            json={"return_to_bot": True},
            headers=omni.agent("Ana"),
        )
        assert finished.status_code == 200, finished.text
        for n, text in enumerate(["10", "4.5", "2024 foi bom"]):
            turn = await say(http, "dez", f"dez-{n + 3}", text)
            assert turn["replies"][-1]["text"].startswith("Como você avalia"), text
        turn = await say(http, "dez", "dez-9", "4")
        assert turn["replies"][0]["text"] == "Obrigado pela sua avaliação!"
