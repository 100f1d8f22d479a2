"""GET /api/agent/conversations/{id}/transfer-targets: the services the transfer rules allow."""

from __future__ import annotations

import pytest

from tests.conftest import admin_headers, running_stack
from tests.test_handoff import flow, into_queue, publish, say, setup_omni

pytestmark = pytest.mark.asyncio


def targets_url(conversation: str) -> str:
    return f"/api/agent/conversations/{conversation}/transfer-targets"


async def test_targets_honour_same_service_hidden_and_transfer_group(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)  # Suporte 100, Financeiro 200, Diretoria 300 (hidden)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "alvos"))["conversation_id"]
        url = targets_url(conversation)

        # waiting in Suporte: not Suporte itself, not the hidden Diretoria
        listed = await http.get(url, headers=omni.agent("Ana"))
        assert listed.status_code == 200, listed.text
        assert listed.json() == [{"name": "Financeiro", "extension": "200"}]

        admin = admin_headers()
        vendas = {"name": "Vendas"}  # no extension: still a target, by name
        assert (
            await http.post("/api/omni/services", json=vendas, headers=admin)
        ).status_code == 201
        listed = await http.get(url, headers=omni.agent("Ana"))
        assert listed.json() == [
            {"name": "Financeiro", "extension": "200"},
            {"name": "Vendas", "extension": None},
        ]

        # a transfer group limits the list; a hidden service stays out even when grouped
        services = (await http.get("/api/omni/services", headers=admin)).json()
        suporte = next(s for s in services if s["name"] == "Suporte")
        grouped = await http.patch(
            f"/api/omni/services/{suporte['id']}",
            json={"transfer_group": ["Vendas", "Diretoria"]},
            headers=admin,
        )
        assert grouped.status_code == 200, grouped.text
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        listed = await http.get(url, headers=omni.agent("Ana"))
        assert listed.json() == [{"name": "Vendas", "extension": None}]

        # what is listed is what the transfer accepts
        moved = await http.post(
            f"/api/agent/conversations/{conversation}/transfer",
            json={"service": "Vendas"},
            headers=omni.agent("Ana"),
        )
        assert moved.status_code == 200, moved.text
        assert (await http.get(url, headers=omni.agent("Ana"))).status_code == 403


async def test_other_services_agent_unknown_and_bot_conversations_are_refused(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "alheio"))["conversation_id"]

        other = await http.get(targets_url(conversation), headers=omni.agent("Caio"))
        assert other.status_code == 403, other.text
        assert other.json()["code"] == "not_your_service"
        unknown = await http.get(targets_url("nao-existe"), headers=omni.agent("Ana"))
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_conversation"
        with_bot = (await say(http, "so-bot", "so-bot-1", "oi"))["conversation_id"]
        in_bot = await http.get(targets_url(with_bot), headers=omni.agent("Ana"))
        assert in_bot.status_code == 409 and in_bot.json()["code"] == "not_with_human_service"
        for headers in ({}, admin_headers(), {"Authorization": "Bearer wrong"}):
            refused = await http.get(targets_url(conversation), headers=headers)
            assert refused.status_code == 401


async def test_the_workflows_refusals_answer_with_their_code(time_env, settings, engine):
    """A refused Update reaches the agent as its `Refusal` code (api/errors.py reads it from the
    error the answer was raised from), which the Tela de Atendimento says in pt-BR."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        first = (await into_queue(http, "codigo-1"))["conversation_id"]
        second = (await into_queue(http, "codigo-2"))["conversation_id"]
        pickup = "/api/agent/conversations/{}/pickup"
        took = await http.post(pickup.format(first), headers=omni.agent("Ana"))
        assert took.status_code == 200, took.text
        late = await http.post(pickup.format(first), headers=omni.agent("Beto"))
        assert late.status_code == 409 and late.json()["code"] == "taken"
        full = await http.post(pickup.format(second), headers=omni.agent("Ana"))
        assert full.status_code == 409 and full.json()["code"] == "at_capacity"
