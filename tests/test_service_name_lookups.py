"""A service is found by its name in any case, accents or spacing wherever something names it
(a flow's Humano block, an agent's transfer, a quick reply's scope, a request body), and a
service that published flows name is not deleted without saying so. Over HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import admin_headers, running_stack
from tests.test_admin_name_forms import old_rows
from tests.test_admin_names import flow, made, publish
from tests.test_handoff import flow as handoff_flow
from tests.test_handoff import into_queue, setup_omni
from tests.test_handoff import publish as publish_loja

pytestmark = pytest.mark.asyncio

H = admin_headers()


async def test_a_flow_naming_suporte_queues_the_customer_in_suporte(
    time_env: Any, settings: Any, any_engine: sa.Engine
) -> None:
    """The Humano block says `service: suporte`; the service is "Suporte": the customer waits
    in its queue, its agent takes the conversation and transfers it to "financeiro"."""
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await publish_loja(http, handoff_flow(omni.key, service="suporte"))
        turn = await into_queue(http, "5511")  # not `unavailable`: waiting
        conversation = turn["conversation_id"]
        ana = omni.agent("Ana")
        queue = (await http.get("/api/agent/queue", headers=ana)).json()
        assert [(q["conversation_id"], q["service"]) for q in queue] == [(conversation, "Suporte")]
        base = f"/api/agent/conversations/{conversation}"
        taken = await http.post(f"{base}/pickup", headers=ana)
        assert taken.status_code == 200 and taken.json()["service"] == "Suporte", taken.text

        moved = await http.post(f"{base}/transfer", json={"service": "financeiro"}, headers=ana)
        assert moved.status_code == 200, moved.text
        assert moved.json()["service"] == "Financeiro"
        queue = (await http.get("/api/agent/queue", headers=omni.agent("Caio"))).json()
        assert [(q["conversation_id"], q["service"]) for q in queue] == [
            (conversation, "Financeiro")
        ]


async def test_a_flow_naming_a_service_by_accentless_capitals_queues_there(
    time_env: Any, settings: Any, any_engine: sa.Engine
) -> None:
    """ "COBRANCA" is "Cobrança"; a name no service has in any form still ends `unavailable`."""
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await made(http, "/api/omni/services", {"name": "Cobrança"})
        await made(http, "/api/omni/integrations", {"service": "cobranca", "bot": "loja"})
        await made(http, "/api/omni/agents", {"name": "Dora", "services": ["COBRANÇA"]})
        await publish_loja(http, handoff_flow(omni.key, service="COBRANCA"))
        turn = await into_queue(http, "5522")
        info = (await http.get(f"/api/conversations/{turn['conversation_id']}")).json()
        assert info["service"] == "Cobrança"

        await publish_loja(http, handoff_flow(omni.key, service="Cobranças"))
        await http.post(
            "/api/bots/loja/messages", json={"contact_id": "5533", "message_id": "a", "text": "oi"}
        )
        gone = await http.post(
            "/api/bots/loja/messages", json={"contact_id": "5533", "message_id": "b", "text": "1"}
        )
        assert [r["text"] for r in gone.json()["replies"]][-1] == "Atendimento humano indisponível."


async def test_a_quick_reply_scoped_cobranca_shows_for_cobranca(
    any_admin_api: httpx.AsyncClient,
) -> None:
    await made(any_admin_api, "/api/omni/services", {"name": "Cobrança"})
    ana = await made(any_admin_api, "/api/omni/agents", {"name": "Ana", "services": ["Cobrança"]})
    for shortcut, scope in (("/boleto", "cobranca"), ("/pix", " COBRANÇA ")):
        reply = await made(
            any_admin_api,
            "/api/omni/quick-replies",
            {"shortcut": shortcut, "title": "Pagamento", "text": "Segue.", "service": scope},
        )
        assert reply["service"] == "Cobrança"
    mine = (
        await any_admin_api.get(
            "/api/agent/quick-replies", headers={"Authorization": f"Bearer {ana['token']}"}
        )
    ).json()
    assert [(r["shortcut"], r["service"]) for r in mine] == [
        ("/boleto", "Cobrança"),
        ("/pix", "Cobrança"),
    ]
    unknown = await any_admin_api.post(
        "/api/omni/quick-replies",
        json={"shortcut": "/x", "title": "x", "text": "y", "service": "Cobranças"},
        headers=H,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_reference"


async def test_request_bodies_name_services_in_any_form_but_one_service_once(
    any_admin_api: httpx.AsyncClient,
) -> None:
    vendas = await made(any_admin_api, "/api/omni/services", {"name": "Vendas"})
    suporte = await made(any_admin_api, "/api/omni/services", {"name": "Suporte"})
    url = f"/api/omni/services/{suporte['id']}"
    grouped = await any_admin_api.patch(url, json={"transfer_group": ["VENDAS"]}, headers=H)
    assert grouped.status_code == 200 and grouped.json()["transfer_group"] == ["Vendas"]
    itself = await any_admin_api.patch(url, json={"transfer_group": ["suporte"]}, headers=H)
    assert itself.status_code == 422 and itself.json()["code"] == "invalid_reference"
    agent = await made(any_admin_api, "/api/omni/agents", {"name": "Ana", "services": ["vendas"]})
    assert agent["services"] == ["Vendas"]
    twice = await any_admin_api.post(
        "/api/omni/agents", json={"name": "Beto", "services": ["Vendas", "vendas"]}, headers=H
    )
    assert twice.status_code == 422 and twice.json()["code"] == "invalid_reference"
    assert "'Vendas' and 'vendas'" in twice.text
    integration = await made(
        any_admin_api, "/api/omni/integrations", {"service": "vendas", "bot": "loja"}
    )
    assert integration["service"] == vendas["name"]


async def test_deleting_a_service_flows_name_is_409_with_the_bots_until_forced(
    any_admin_api: httpx.AsyncClient,
) -> None:
    suporte = await made(any_admin_api, "/api/omni/services", {"name": "Suporte"})
    await made(any_admin_api, "/api/omni/services", {"name": "Vendas"})
    financeiro = await made(any_admin_api, "/api/omni/services", {"name": "Financeiro"})
    await publish(any_admin_api, "loja", flow("loja", "suporte"))
    await publish(any_admin_api, "sac", flow("sac", "Suporte"))
    await publish(any_admin_api, "antigo", flow("antigo", "SUPORTE"))
    await publish(any_admin_api, "antigo", flow("antigo", "Vendas"))  # its newest: Vendas
    await publish(any_admin_api, "padrao", flow("padrao", None))  # the key's own service
    url = f"/api/omni/services/{suporte['id']}"

    refused = await any_admin_api.delete(url, headers=H)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "service_in_use"
    assert refused.json()["bots"] == ["loja", "sac"]
    assert refused.json()["service"] == "Suporte"
    assert (await any_admin_api.get(url, headers=H)).status_code == 200
    # a rename is refused for the same bots: "suporte" finds it as "Suporte" does
    renamed = await any_admin_api.patch(url, json={"name": "Atendimento"}, headers=H)
    assert renamed.status_code == 409 and renamed.json()["bots"] == ["loja", "sac"]

    forced = await any_admin_api.delete(url, params={"force": "true"}, headers=H)
    assert forced.status_code == 204, forced.text
    assert (await any_admin_api.get(url, headers=H)).status_code == 404
    # a service no newest version names goes without a word
    free = await any_admin_api.delete(f"/api/omni/services/{financeiro['id']}", headers=H)
    assert free.status_code == 204, free.text
    listed = (await any_admin_api.get("/api/omni/services", headers=H)).json()
    assert [s["name"] for s in listed] == ["Vendas"]


async def test_of_a_pair_that_clashed_before_0020_each_keeps_the_flows_naming_it(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """ "Suporte" (the older: it holds the name) and "suporte " were made before names were
    unique. A flow naming "suporte " by its bytes finds the later one; "SUPORTE" finds the one
    holding the name: deleting either is refused for its own bots only."""
    old_rows(any_engine, {"s_old": "Suporte", "s_new": "suporte "}, {})
    await publish(any_admin_api, "loja", flow("loja", '"suporte "'))
    await publish(any_admin_api, "sac", flow("sac", "SUPORTE"))
    for service_id, bots in (("s_old", ["sac"]), ("s_new", ["loja"])):
        refused = await any_admin_api.delete(f"/api/omni/services/{service_id}", headers=H)
        assert refused.status_code == 409, refused.text
        assert refused.json()["bots"] == bots
    grouped = await any_admin_api.patch(
        "/api/omni/services/s_new", json={"transfer_group": ["SUPORTE"]}, headers=H
    )
    assert grouped.status_code == 200 and grouped.json()["transfer_group"] == ["Suporte"]


async def test_two_spellings_of_one_stored_name_find_the_same_service_together_as_alone(
    any_engine: sa.Engine, any_admin_api: httpx.AsyncClient
) -> None:
    """Of the same pair, flows naming "suporte" and " suporte" both reach "suporte " (its
    stored form): so deleting it is refused for both bots, and the other for none."""
    old_rows(any_engine, {"s_old": "Suporte", "s_new": "suporte "}, {})
    await publish(any_admin_api, "loja", flow("loja", "suporte"))
    await publish(any_admin_api, "sac", flow("sac", '" suporte"'))
    for service_id, bots in (("s_old", None), ("s_new", ["loja", "sac"])):
        answer = await any_admin_api.delete(f"/api/omni/services/{service_id}", headers=H)
        if bots is None:
            assert answer.status_code == 204, answer.text
        else:
            assert answer.status_code == 409 and answer.json()["bots"] == bots, answer.text
