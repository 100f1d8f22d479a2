"""The supervisor's "Conversas em andamento" (`GET /api/supervisor/conversations/open`): the
conversations waiting or in service now (those whose agent's screen is gone first, then in
service, then waiting, oldest first), with their service, their agent (flagged when presence set
it offline: one to reassign) and since when; the admin sees every service, a supervisor
only its own. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from omni.models import AgentCreate, ServiceCreate
from store.agents import create_agent, set_agent_status
from store.services import create_service
from store.tables import agents, queue_entries
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import Console, browser, live_server, shot  # noqa: F401 (fixture)
from tests.test_desk_browser import customer_into_queue, setup
from tests.test_supervision import row
from transbordo.stack import stack_ring


def _seeded(engine: sa.Engine) -> None:
    """Suporte: c1 waiting, c2 with Caio (set offline by presence: his screen is gone), c3 with
    Ana, c4 finished; Vendas: c5 with Ana; Ana available; Beto chose Offline, holding c6."""
    ids = {
        name: create_service(engine, ServiceCreate(name=name), stack_ring()).id
        for name in ("Suporte", "Vendas")
    }
    ana = create_agent(engine, AgentCreate(name="Ana", services=["Suporte", "Vendas"])).id
    set_agent_status(engine, ana, "available")
    caio = create_agent(engine, AgentCreate(name="Caio", services=["Suporte"])).id
    beto = create_agent(engine, AgentCreate(name="Beto", services=["Suporte"])).id
    suporte, vendas = ids["Suporte"], ids["Vendas"]
    rows = [
        {**row(1, suporte, "waiting", 50, None, None), "agent_id": None},
        {**row(2, suporte, "in_service", 20, 30, None), "agent_id": caio},
        {**row(3, suporte, "in_service", 10, 15, None), "agent_id": ana},
        {**row(4, suporte, "finished", 0, 5, 8), "agent_id": ana},
        {**row(5, vendas, "in_service", 40, 45, None), "agent_id": ana},
        {**row(6, suporte, "in_service", 5, 6, None), "agent_id": beto},
    ]
    with engine.begin() as conn:
        conn.execute(queue_entries.insert(), rows)
        gone = agents.update().where(agents.c.id == caio).values(status_reason="unseen")
        conn.execute(gone)


async def test_open_conversations_name_service_agent_and_an_offline_agent(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    _seeded(any_engine)
    admin = admin_headers()
    answer = await any_admin_api.get("/api/supervisor/conversations/open", headers=admin)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    # the screen gone first, then in service, then waiting, each oldest first
    assert [c["conversation_id"] for c in found] == ["c2", "c6", "c3", "c5", "c1"]
    by_id = {c["conversation_id"]: c for c in found}
    assert by_id["c1"]["status"] == "waiting" and by_id["c1"]["agent"] is None
    assert by_id["c1"]["service"] == "Suporte" and by_id["c1"]["picked_up_at"] is None
    assert by_id["c3"]["status"] == "in_service" and by_id["c3"]["agent"] == "Ana"
    assert not by_id["c3"]["agent_offline"]
    assert by_id["c2"]["agent"] == "Caio" and by_id["c2"]["agent_offline"]
    assert by_id["c6"]["agent"] == "Beto" and not by_id["c6"]["agent_offline"]  # chose Offline
    assert by_id["c5"]["service"] == "Vendas"
    assert by_id["c3"]["enqueued_at"].startswith("2026-11-20T13:00:10")
    limited = await any_admin_api.get("/api/supervisor/conversations/open?limit=2", headers=admin)
    assert [c["conversation_id"] for c in limited.json()] == ["c2", "c6"]  # not the newest


async def test_a_supervisor_sees_only_the_open_conversations_of_its_services(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    _seeded(any_engine)
    admin = admin_headers()
    made = await any_admin_api.post(
        "/api/omni/agents",
        json={"name": "Carla", "services": ["Vendas"], "supervisor": True},
        headers=admin,
    )
    carla = {"Authorization": f"Bearer {made.json()['token']}"}
    answer = await any_admin_api.get("/api/supervisor/conversations/open", headers=carla)
    assert answer.status_code == 200, answer.text
    assert [(c["conversation_id"], c["service"]) for c in answer.json()] == [("c5", "Vendas")]
    nobody = await any_admin_api.post(
        "/api/omni/agents", json={"name": "Duda", "supervisor": True}, headers=admin
    )
    duda = {"Authorization": f"Bearer {nobody.json()['token']}"}
    empty = await any_admin_api.get("/api/supervisor/conversations/open", headers=duda)
    assert empty.status_code == 200 and empty.json() == []


async def test_the_supervisor_picks_a_conversation_from_the_list_and_watches_it(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
) -> None:
    """Ana has Maria's conversation in service: the supervisor page lists it under "Conversas
    em andamento" with its service and agent; "Acompanhar" on the row shows its transcript."""
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=15_000)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        ana_token, connector = await setup(base, engine)
        ana = {"Authorization": f"Bearer {ana_token}"}
        async with httpx.AsyncClient(base_url=base, headers=ana) as http:
            ready = await http.post("/api/agent/status", json={"status": "available"})
            assert ready.status_code == 200, ready.text
            await customer_into_queue(base, connector, "5544")
            taken = await http.post("/api/agent/next")
            assert taken.status_code == 200, taken.text
            conversation = taken.json()["conversation_id"]
            text = {"text": "Olá, Maria, aqui é a Ana."}
            said = await http.post(f"/api/agent/conversations/{conversation}/messages", json=text)
            assert said.status_code == 200, said.text
            open_now = await http.get("/api/supervisor/conversations/open", headers=admin_headers())
            picked = datetime.fromisoformat(open_now.json()[0]["picked_up_at"])
        # "Desde" in the operator's zone (the one the page names), not the browser's
        since = picked.astimezone(ZoneInfo(settings.supervisor_timezone)).strftime("%H:%M")

        page = await browser.new_page(base_url=base, locale="pt-BR", timezone_id="Asia/Tokyo")
        console.watch(page)
        await page.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        await page.goto("/supervisor")
        listed = page.locator(f"#open-rows tr[data-conversation='{conversation}'] td")
        await expect(listed.nth(0)).to_have_text("5544")  # the contact (ids this short: whole)
        await expect(listed.nth(1)).to_have_text("Suporte")
        await expect(listed.nth(2)).to_have_text("Em atendimento")
        await expect(listed.nth(3)).to_have_text("Ana")
        await expect(listed.nth(4)).to_have_text(since)
        await expect(listed.nth(5).get_by_role("button")).to_have_accessible_name(
            f"Acompanhar: cliente 5544, Suporte, Em atendimento, com Ana, desde {since}"
        )
        await expect(page.locator("#live-transcript")).to_be_empty()
        await listed.nth(5).get_by_role("button", name="Acompanhar").click()
        await expect(page.locator("#live-transcript")).to_contain_text("Olá, Maria, aqui é a Ana.")
        await expect(page.get_by_label("Conversa", exact=True)).to_have_value(conversation)
        await shot(page, "32-supervisor-conversas-em-andamento")
