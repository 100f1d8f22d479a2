"""The desk after the admin changes a service, over HTTP: the wrap-up codes the screen lists are
the ones the finish checks (the service's settings now, not those copied when the customer
queued); a finished conversation still names its service and the agents who served it, in the
agent's customer history and the supervisor's search."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import admin_headers, conversation_handle, conversation_wid, running_stack
from tests.test_desk import flow, say
from tests.test_handoff import publish, setup_omni

pytestmark = pytest.mark.asyncio


async def change_suporte(http: httpx.AsyncClient, wrapup: dict) -> None:
    """The admin edits Suporte's wrap-up settings (Omni → Serviços)."""
    services = (await http.get("/api/omni/services", headers=admin_headers())).json()
    suporte = next(s["id"] for s in services if s["name"] == "Suporte")
    changed = await http.patch(
        f"/api/omni/services/{suporte}", json={"wrapup": wrapup}, headers=admin_headers()
    )
    assert changed.status_code == 200, changed.text


async def queued(http: httpx.AsyncClient, contact: str, prefix: str) -> str:
    await say(http, contact, f"{prefix}1", "oi")
    turn = await say(http, contact, f"{prefix}2", "123")
    assert turn["status"] == "waiting", turn
    return str(turn["conversation_id"])


async def test_the_finish_takes_the_wrapup_codes_the_screen_lists(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)  # Suporte without wrap-up codes
        ana, beto = omni.agent("Ana"), omni.agent("Beto")
        await publish(http, flow(omni.key))

        # queued with no codes; the admin then requires one, adding "Cancelamento"
        first = await queued(http, "5511", "a")
        await change_suporte(http, {"required": True, "codes": ["Venda", "Cancelamento"]})
        base = f"/api/agent/conversations/{first}"
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200
        listed = (await http.get(f"{base}/wrapup-codes", headers=ana)).json()
        assert listed == {"required": True, "codes": ["Venda", "Cancelamento"]}
        meant = {"wrapup_code": "Venda", "return_to_bot": "no"}  # a string is not a yes/no
        coerced = await http.post(f"{base}/finish", json=meant, headers=ana)
        assert coerced.status_code == 422, coerced.text
        assert [e["loc"][-1] for e in coerced.json()["detail"]] == ["return_to_bot"]
        refused = await http.post(f"{base}/finish", json={}, headers=ana)
        assert refused.status_code == 422 and refused.json()["code"] == "wrapup_required"
        assert refused.json()["detail"] == "a wrap-up code is required: Venda, Cancelamento"
        done = await http.post(f"{base}/finish", json={"wrapup_code": "Cancelamento"}, headers=ana)
        assert done.status_code == 200, done.text
        async with time_env.time_skipping_unlocked():
            await conversation_handle(time_env, conversation_wid("loja", "5511")).result()
        said = [m["text"] for m in (await http.get(f"/api/conversations/{first}/messages")).json()]
        assert said[-1] == "Tabulação Cancelamento; etiquetas ."

        # queued while a code was required; the admin then leaves the list empty
        second = await queued(http, "5522", "b")
        await change_suporte(http, {"required": True, "codes": []})
        base = f"/api/agent/conversations/{second}"
        assert (await http.post(f"{base}/pickup", headers=beto)).status_code == 200
        listed = (await http.get(f"{base}/wrapup-codes", headers=beto)).json()
        assert listed == {"required": False, "codes": []}  # nothing to choose: not required
        stale = await http.post(f"{base}/finish", json={"wrapup_code": "Venda"}, headers=beto)
        assert stale.status_code == 422, stale.text
        assert stale.json()["detail"] == (
            "unknown wrap-up code: the service has no wrap-up codes now; finish without one"
        )
        done = await http.post(f"{base}/finish", json={}, headers=beto)
        assert done.status_code == 200, done.text


async def test_a_finished_conversation_keeps_its_service_and_agents(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        ana, caio = omni.agent("Ana"), omni.agent("Caio")
        await publish(http, flow(omni.key))
        handle = conversation_handle(time_env, conversation_wid("loja", "5511"))

        # the first time, the customer leaves the queue
        abandoned = await queued(http, "5511", "a")
        left = await http.post(f"/api/conversations/{abandoned}/leave")
        assert left.status_code == 202
        await handle.result()

        # the second time, Ana (Suporte) transfers to Financeiro, where Caio finishes
        served = await queued(http, "5511", "b")
        base = f"/api/agent/conversations/{served}"
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200
        moved = await http.post(f"{base}/transfer", json={"service": "Financeiro"}, headers=ana)
        assert moved.status_code == 200, moved.text
        assert (await http.post(f"{base}/pickup", headers=caio)).status_code == 200
        done = await http.post(f"{base}/finish", json={"return_to_bot": False}, headers=caio)
        assert done.status_code == 200, done.text
        await handle.result()

        # the third time, Ana sees both in the customer's history
        now = await queued(http, "5511", "c")
        base = f"/api/agent/conversations/{now}"
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200
        history = (await http.get(f"{base}/history", headers=ana)).json()
        fields = ("conversation_id", "status", "queue_status", "service", "agent", "agents")
        assert [tuple(h[f] for f in fields) for h in history] == [
            (served, "ended", "finished", "Financeiro", "Caio", ["Ana", "Caio"]),
            (abandoned, "ended", "abandoned", "Suporte", None, []),
        ]

        # the supervisor's search says the same (and, for the open one, who has it now)
        found = await http.get("/api/supervisor/conversations", headers=admin_headers())
        assert found.status_code == 200, found.text
        assert [tuple(c[f] for f in fields) for c in found.json()] == [
            (now, "in_service", "in_service", "Suporte", "Ana", ["Ana"]),
            (served, "ended", "finished", "Financeiro", "Caio", ["Ana", "Caio"]),
            (abandoned, "ended", "abandoned", "Suporte", None, []),
        ]
