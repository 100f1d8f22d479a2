"""The supervisor on a live conversation in a real Chromium (issue 14 item 7): a supervisor
whispers, then barges in; the agent's screen shows the whisper marked "Supervisor (só para
você)", the customer's transcript has the barge-in and not the whisper."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.test_browser import Console, browser, live_server, shot, signed_in_agent  # noqa: F401 (fixture)
from tests.test_desk_browser import customer_into_queue, serious_violations, setup

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio

TIMEOUT_MS = 15_000


async def test_a_supervisor_whispers_then_barges_in(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        agent_token, connector = await setup(base, engine)
        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 900}, base_url=base
        )
        agent = await signed_in_agent(context, console, agent_token)
        await expect(agent.locator("#toast")).to_contain_text("Disponível")
        await customer_into_queue(base, connector, "5533")
        await agent.get_by_role("button", name="Atender próximo").click()
        transcript = agent.locator("#transcript")
        await expect(transcript).to_contain_text("Vou te transferir")
        customer = {"Authorization": f"Bearer {connector}"}
        async with httpx.AsyncClient(base_url=base, headers=customer) as http:
            body = {"contact_id": "5533", "message_id": "5533-x", "text": "alô?"}
            said = await http.post("/api/bots/loja/messages", json=body)
        conversation = said.json()["conversation_id"]

        supervisor = await context.new_page()
        console.watch(supervisor)
        await supervisor.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        await supervisor.goto("/supervisor")
        await supervisor.get_by_label("Conversa", exact=True).fill(conversation)
        await supervisor.get_by_role("button", name="Acompanhar", exact=True).click()
        live = supervisor.locator("#live-transcript")
        await expect(live).to_contain_text("Vou te transferir")
        await supervisor.get_by_label("Seu nome").fill("Carla")
        await supervisor.get_by_label("Mensagem do supervisor").fill("Ofereça o parcelamento")
        await supervisor.get_by_role("button", name="Sussurrar ao atendente").click()
        await expect(live).to_contain_text("Sussurro ao atendente (Carla): Ofereça o parcelamento")

        whisper = transcript.locator(".msg.whisper")
        await expect(whisper).to_contain_text("Supervisor (só para você) — Carla")
        await expect(whisper).to_contain_text("Ofereça o parcelamento")

        await supervisor.get_by_label("Mensagem do supervisor").fill("Olá, sou a supervisora.")
        await supervisor.get_by_role("button", name="Falar com o cliente").click()
        barged = transcript.locator(".msg.supervisor")
        await expect(barged).to_contain_text("Supervisor Carla")
        await expect(barged).to_contain_text("Olá, sou a supervisora.")
        await expect(supervisor.locator("#live-actions li")).to_have_count(2)
        await shot(agent, "30-supervisor-sussurro-agente")
        await shot(supervisor, "31-supervisor-ao-vivo")
        assert await serious_violations(supervisor) == []

        async with httpx.AsyncClient(base_url=base, headers=customer) as http:
            log = await http.get(f"/api/conversations/{conversation}/messages")
        texts = [m["text"] for m in log.json()]
        assert "Olá, sou a supervisora." in texts
        assert "Ofereça o parcelamento" not in texts
        await context.close()
    assert console.errors == []
