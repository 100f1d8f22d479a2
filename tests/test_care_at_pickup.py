"""A service's care rules as the admin left them when the agent picks the conversation up, not
as they were when the customer queued (QA: a rule turned off while the customer waited still
took the customer from Ana; one turned on never applied). Real stack, time skipping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.usecases import delivery
from omni.service_care import CarriedCare
from tests.conftest import admin_headers, conversation_handle, conversation_wid, running_stack
from tests.test_care import agent_says, queued, transcript
from tests.test_handoff import Omni, say
from tests.test_replay import replayer
from workflows import patches
from workflows.contracts import PickupRequest, ServiceSnapshot
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio

REQUEUE = {"agent_reply_seconds": 120, "agent_silence_action": "requeue"}
OFF = {"agent_reply_seconds": 0, "agent_silence_action": "alert"}
BACK = "Desculpe a demora. Você voltou para o início"


async def set_care(http: httpx.AsyncClient, care: dict[str, Any]) -> None:
    """The admin saves Suporte's care (the whole value, as the Serviços page does)."""
    listed = (await http.get("/api/omni/services", headers=admin_headers())).json()
    suporte = next(s["id"] for s in listed if s["name"] == "Suporte")
    saved = await http.patch(
        f"/api/omni/services/{suporte}", json={"care": care}, headers=admin_headers()
    )
    assert saved.status_code == 200, saved.text


async def take(http: httpx.AsyncClient, omni: Omni, conversation: str, way: str) -> None:
    """Ana takes the waiting conversation: by its pickup button or by "Atender próximo"."""
    if way == "pickup":
        url = f"/api/agent/conversations/{conversation}/pickup"
    else:
        url = "/api/agent/next"
    picked = await http.post(url, headers=omni.agent("Ana"))
    assert picked.status_code == 200, picked.text
    assert picked.json()["conversation_id"] == conversation


async def served_after(
    env: WorkflowEnvironment,
    http: httpx.AsyncClient,
    omni: Omni,
    contact: str,
    care: dict[str, Any],
    way: str,
) -> str:
    """The customer queues, the admin saves `care`, Ana picks up and greets, the customer
    writes and is left unanswered for 300 s (past the 120 s rule); then the customer leaves."""
    await say(http, contact, f"{contact}-1", "oi")
    conversation = str((await say(http, contact, f"{contact}-2", "1"))["conversation_id"])
    await set_care(http, care)
    await take(http, omni, conversation, way)
    await agent_says(http, omni, conversation, "Olá, sou a Ana.")
    await say(http, contact, f"{contact}-3", "preciso de ajuda")
    handle = conversation_handle(env, conversation_wid("loja", contact))
    await env.sleep(300)  # the server's clock, skipped
    left = await http.post(f"/api/conversations/{conversation}/leave")
    assert left.status_code == 202, left.text
    async with env.time_skipping_unlocked():
        assert (await handle.result()).status == "ended"
    return conversation


@pytest.mark.parametrize("way", ["pickup", "next"])
async def test_a_rule_turned_off_while_queued_does_not_take_the_customer_from_the_agent(
    time_env, settings, engine, way
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, REQUEUE)
        conversation = await served_after(time_env, http, omni, "desligou", OFF, way)
        said = await transcript(http, conversation)
        alerts = (await http.get("/api/supervisor/alerts", headers=admin_headers())).json()
    assert not any(m["text"].startswith(BACK) for m in said)
    assert alerts == []
    answered = [m for m in said if m["from"] == "agent"]  # still Ana's at the leave
    assert [m["text"] for m in answered] == ["Olá, sou a Ana."]


@pytest.mark.parametrize("way", ["pickup", "next"])
async def test_a_rule_turned_on_while_queued_applies_after_the_pickup(
    time_env, settings, engine, way
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, OFF)
        conversation = await served_after(time_env, http, omni, "ligou", REQUEUE, way)
        said = await transcript(http, conversation)
        alerts = (await http.get("/api/supervisor/alerts", headers=admin_headers())).json()
    assert any(m["text"].startswith(BACK) for m in said)
    assert [(a["kind"], a["agent"], a["conversation_id"]) for a in alerts] == [
        ("agent_silence", "Ana", conversation)
    ]


async def test_care_read_for_another_service_is_not_applied() -> None:
    """The API reads the entry's service; if the customer moved on to another service before
    the pickup arrived, that service's own copy stays."""
    service = ServiceSnapshot(service_id="s2", service_name="Vendas", abandon_seconds=300)
    off = CarriedCare(agent_reply_seconds=0)
    read_for_s1 = PickupRequest(agent_id="a", agent_name="Ana", care=off, care_of="s1")
    assert read_for_s1.with_carried_care(service) is service


async def test_a_pickup_an_older_worker_ran_without_its_care_replays(
    time_env: WorkflowEnvironment, settings: Any, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the API may carry the care to a worker from before it (a deploy in the wrong
    order, docs/operations.md "Upgrades"), which ignores it; a newer worker replaying that run
    (started at version 4) must take the queueing's copy too (patch `care-at-pickup`), and the
    newer code's own history (version 5: no marker) replays as it ran."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await queued(http, REQUEUE)
        with monkeypatch.context() as older:  # a run the version-4 API started, picked up
            older.setattr(delivery, "CODE_VERSION", 4)  # through the new API by a version-4
            older.setattr(patches, "CODE_VERSION", 4)  # worker, which ignores the care
            older.setattr(PickupRequest, "with_carried_care", lambda self, service: service)
            await served_after(time_env, http, omni, "antigo", OFF, "pickup")
        await set_care(http, REQUEUE)
        await served_after(time_env, http, omni, "novo", OFF, "pickup")
        histories = [
            await conversation_handle(time_env, conversation_wid("loja", contact)).fetch_history()
            for contact in ("antigo", "novo")
        ]
    for history in histories:
        await replayer(ConversationWorkflow).replay_workflow(history)
