"""The supervisor's estimated wait is the customer's: one function (store/wait_history.py) for the
customer at place waiting + 1, null when nobody of the service is online (no wait is promised
then). On the real stack with the example bot `loja` (as tests/test_wait_estimate_offline.py),
and on the supervisor screen in a real Chromium ("—" with a title that says why)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from omni.models import AgentCreate, ServiceCreate
from store import queue
from store.agents import create_agent, set_agent_status
from store.services import create_service
from tests.conftest import ADMIN_TOKEN, admin_headers, running_stack
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server  # noqa: F401
from tests.test_handoff import publish, setup_omni
from tests.test_wait_estimate_offline import loja, plantao, set_status
from transbordo.stack import stack_ring

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
NO_WAIT = "Sem espera prometida: ninguém do serviço online, ou caixa postal oferecida"


async def suporte_figures(http: httpx.AsyncClient) -> dict:
    """Suporte's row of the supervisor screen's `GET /api/supervisor/services`, checked against
    the admin's `GET /api/omni/services/{id}/metrics` (the same model)."""
    listed = await http.get("/api/supervisor/services", headers=admin_headers())
    assert listed.status_code == 200, listed.text
    [row] = [one for one in listed.json() if one["service"] == "Suporte"]
    services = (await http.get("/api/omni/services", headers=admin_headers())).json()
    [suporte] = [one["id"] for one in services if one["name"] == "Suporte"]
    alone = await http.get(f"/api/omni/services/{suporte}/metrics", headers=admin_headers())
    assert alone.json() == row
    return row


async def test_the_supervisor_reads_what_a_customer_queueing_now_is_told(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, loja(omni.key))
        for name in ("Ana", "Beto"):  # all of Suporte; Caio (Financeiro) stays available
            await set_status(http, omni, name, "offline")
        await plantao(http, "5511")  # the plantão queues whoever is online
        figures = await suporte_figures(http)
        assert figures["waiting"] == 1 and figures["estimated_wait_seconds"] is None

        await set_status(http, omni, "Ana", "available")
        promised = (await suporte_figures(http))["estimated_wait_seconds"]
        # one ahead, whom Ana's free slot takes; the next slot after one handle time (the
        # 60 s answer-time target while the service has no history), over one agent
        assert promised == 60
        turn = await plantao(http, "5522")  # the customer queueing now
        notice = turn["replies"][1]
        assert notice["kind"] == "wait_time_notice"
        assert notice["data"] == {"estimated_wait_seconds": promised, "position": 2}
        info = (await http.get(f"/api/conversations/{turn['conversation_id']}")).json()
        assert (info["position"], info["estimated_wait_seconds"]) == (2, promised)


def test_no_wait_is_shown_where_voicemail_is_offered_instead(engine: sa.Engine) -> None:
    """A service with voicemail whose agents are all paused: the customer queueing now is
    offered the voicemail and told no wait (workflows/humano.py), so the supervisor reads none;
    once an agent is available, a figure."""
    created = ServiceCreate(name="Suporte", voicemail_seconds=120)
    service = create_service(engine, created, stack_ring()).id
    ana = create_agent(engine, AgentCreate(name="Ana", services=["Suporte"]))
    set_agent_status(engine, ana.id, "paused")
    queue.enqueue(
        engine,
        entry_id="q1",
        conversation_id="c1",
        workflow_id="w1",
        service_id=service,
        preview="",
    )
    assert queue.metrics(engine, service).estimated_wait_seconds is None
    set_agent_status(engine, ana.id, "available")
    assert queue.metrics(engine, service).estimated_wait_seconds is not None


async def test_the_supervisor_screen_shows_no_wait_with_nobody_online(
    browser,  # noqa: F811
    settings,
    engine: sa.Engine,
    time_env,  # type: ignore[no-untyped-def]
) -> None:
    service = create_service(engine, ServiceCreate(name="Suporte"), stack_ring()).id
    ana = create_agent(engine, AgentCreate(name="Ana", services=["Suporte"]))  # offline
    queue.enqueue(
        engine,
        entry_id="q1",
        conversation_id="c1",
        workflow_id="w1",
        service_id=service,
        preview="",
    )
    console = Console()
    async with live_server(time_env, settings, engine) as base_url:
        page = await browser.new_page(base_url=base_url)
        page.set_default_timeout(TIMEOUT_MS)
        console.watch(page)
        await page.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', '{ADMIN_TOKEN}')"
        )
        await page.goto("/supervisor")
        cells = page.locator("#service-rows tr[data-service='Suporte'] td")
        estimated = cells.nth(6)  # "Espera estimada"
        await expect(cells.nth(0)).to_have_text("1")  # na fila
        await expect(estimated).to_have_text("—")
        await expect(estimated).to_have_attribute("title", NO_WAIT)

        set_agent_status(engine, ana.id, "available")  # the next refresh (every 3 s) shows it
        await expect(estimated).to_have_text("1 min 00 s")
        await expect(estimated).not_to_have_attribute("title", NO_WAIT)
        await page.close()
    assert console.errors == []
