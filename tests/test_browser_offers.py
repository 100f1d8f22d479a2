"""The Tela de Atendimento rings for an offer of automatic assignment: Recusar, then Aceitar
opens the conversation (chromium, the real worker and API over HTTP)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from store import routing
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import (
    TIMEOUT_MS,
    Console,
    browser,
    live_server,
    playwright_api,
    shot,
    signed_in_agent,
)

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

FLOW = """\
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: humano
blocks:
  humano: {{type: human, service: Suporte, text: Vou te transferir., check_hours: false}}
"""


async def test_the_screen_rings_and_the_agent_declines_then_accepts(
    time_env, settings, engine, browser
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        admin = admin_headers()
        body = {"name": "Suporte", "assignment": "auto", "offer_seconds": 600}
        tokens = await loja_with_agents(http, body, ("Ana", "Beto"))

        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 850}, base_url=base
        )
        agent = await signed_in_agent(context, console, tokens["Ana"])
        await expect(agent.locator("#live")).to_have_text("ao vivo")

        turn = await http.post(
            "/api/bots/loja/messages",
            json={"contact_id": "5511", "message_id": "m1", "text": "preciso de ajuda"},
            headers={"Authorization": f"Bearer {await connector_token(http, admin)}"},
        )
        assert turn.json()["status"] == "waiting", turn.text
        offer = agent.get_by_role("alertdialog", name="Nova conversa de Suporte")
        await expect(offer).to_contain_text("preciso de ajuda")
        await expect(offer).to_contain_text("expira em")
        await shot(agent, "13-tela-de-atendimento-oferta")
        await offer.get_by_role("button", name="Recusar").click()
        await expect(offer).to_have_count(0)  # nobody else is available: it waits

        beto = {"Authorization": f"Bearer {tokens['Beto']}"}
        await http.post("/api/agent/status", json={"status": "available"}, headers=beto)
        offers = (await http.get("/api/agent/offers", headers=beto)).json()
        declined = await http.post(f"/api/agent/offers/{offers[0]['id']}/decline", headers=beto)
        assert declined.is_success  # back to Ana, whose screen rings again
        await offer.get_by_role("button", name="Aceitar").click()
        transcript = agent.locator("#transcript")
        await expect(transcript.locator(".msg.customer")).to_contain_text("preciso de ajuda")
        await expect(offer).to_have_count(0)
        await context.close()  # before the server stops: its open stream ends cleanly
    assert console.errors == []


async def test_the_screen_shows_away_set_by_the_server_after_lapses(
    time_env, settings, engine, browser
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        admin = admin_headers()
        body = {"name": "Suporte", "assignment": "auto", "offer_seconds": 600, "max_lapses": 1}
        ana_token = (await loja_with_agents(http, body, ("Ana",)))["Ana"]
        context = await browser.new_context(locale="pt-BR", base_url=base)
        agent = await signed_in_agent(context, console, ana_token)
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        turn = await http.post(
            "/api/bots/loja/messages",
            json={"contact_id": "5511", "message_id": "m1", "text": "preciso de ajuda"},
            headers={"Authorization": f"Bearer {await connector_token(http, admin)}"},
        )
        assert turn.json()["status"] == "waiting", turn.text
        offer = agent.get_by_role("alertdialog", name="Nova conversa de Suporte")
        await expect(offer).to_have_count(1)
        ana = {"Authorization": f"Bearer {ana_token}"}
        (open_offer,) = (await http.get("/api/agent/offers", headers=ana)).json()
        await asyncio.to_thread(routing.lapse, engine, open_offer["id"])  # what the timer runs
        await expect(agent.locator("[name=status][value=away]")).to_be_checked()
        await expect(offer).to_have_count(0)
        await agent.locator(".segmented label", has_text="Disponível").click()  # back
        await expect(agent.locator("[name=status][value=available]")).to_be_checked()
        await expect(offer).to_have_count(1)  # it rings again
        await context.close()
    assert console.errors == []


async def loja_with_agents(
    http: httpx.AsyncClient, service: dict[str, Any], agents: Sequence[str]
) -> dict[str, str]:
    """The service, its integration with the bot `loja` (FLOW, published) and these agents of
    the service: their tokens by name."""
    admin = admin_headers()
    made = await http.post("/api/omni/services", json=service, headers=admin)
    assert made.is_success, made.text
    integration = await http.post(
        "/api/omni/integrations", json={"service": service["name"], "bot": "loja"}, headers=admin
    )
    tokens = {}
    for name in agents:
        agent = {"name": name, "services": [service["name"]]}
        made = await http.post("/api/omni/agents", json=agent, headers=admin)
        tokens[name] = made.json()["token"]
    published = await http.put(
        "/api/bots/loja",
        content=FLOW.format(key=integration.json()["api_key"]),
        headers={**admin, "Content-Type": "text/yaml"},
    )
    assert published.is_success, published.text
    return tokens


async def connector_token(http: httpx.AsyncClient, admin: dict[str, str]) -> str:
    made = await http.post(
        "/api/bots/loja/channel-credentials", json={"name": "canal"}, headers=admin
    )
    assert made.is_success, made.text
    return str(made.json()["token"])


async def test_the_admin_pages_set_distribution_and_skills(time_env, settings, engine, browser):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        context = await browser.new_context(locale="pt-BR", base_url=base)
        admin = await context.new_page()
        console.watch(admin)
        await admin.goto("/omni/servicos")
        await admin.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await admin.get_by_role("button", name="Entrar").click()
        await admin.get_by_role("button", name="Novo Serviço").click()
        form = admin.locator("#service-form")
        await form.get_by_label("Nome", exact=True).fill("Vendas")
        await form.get_by_label("Distribuição dos atendimentos").select_option("auto")
        await form.get_by_label("Tempo da oferta (s)").fill("45")
        await form.get_by_label("Capacidade por atendente neste serviço").fill("2")
        await form.get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#services tr[data-service='Vendas']")).to_be_visible()
        await admin.goto("/omni/agentes")
        await admin.get_by_role("button", name="Novo atendente").click()
        agent_form = admin.locator("#agent-form")
        await agent_form.get_by_label("Nome").fill("Ana")
        await agent_form.get_by_label("Vendas").check()
        await agent_form.get_by_label("Habilidades").fill("inglês, vendas ")
        await agent_form.get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#token-value")).to_have_value(re.compile(r"^tba_"))
        await context.close()
        (service,) = (await http.get("/api/omni/services", headers=admin_headers())).json()
        assert (service["assignment"], service["offer_seconds"]) == ("auto", 45)
        assert service["agent_capacity"] == 2
        (agent,) = (await http.get("/api/omni/agents", headers=admin_headers())).json()
        assert agent["skills"] == ["inglês", "vendas"]
    assert console.errors == []


async def test_a_new_agent_opened_before_the_services_load_still_lists_them(
    time_env, settings, engine, browser
):
    """On a slow network the admin may click "Novo atendente" before the page's list of
    services has arrived: the form waits for it instead of saying there is no service."""
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        made = await http.post(
            "/api/omni/services", json={"name": "Vendas"}, headers=admin_headers()
        )
        assert made.status_code == 201, made.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        admin = await context.new_page()
        clicked = asyncio.Event()
        asked: list[str] = []

        async def slow_services(route) -> None:  # type: ignore[no-untyped-def]
            asked.append(route.request.url)
            if len(asked) > 1:  # the login's token check passes; the page's list comes late
                await clicked.wait()
            await route.continue_()

        await admin.route("**/api/omni/services", slow_services)
        await admin.goto("/omni/agentes")
        await admin.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await admin.get_by_role("button", name="Entrar").click()
        await admin.get_by_role("button", name="Novo atendente").click()
        clicked.set()
        await expect(admin.locator("#agent-form").get_by_label("Vendas")).to_be_visible()
        await context.close()
