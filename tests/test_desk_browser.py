"""The agent's desk in a real Chromium, and axe-core over every page (issue 14 items 1-3, 9).

The journey: an agent uses a quick reply with a placeholder, adds an internal note, is refused
the finish without a wrap-up code, then finishes with one. Then every screen, logged in and with
data, passes axe-core's WCAG 2.1 AA rules with no serious or critical violation; axe's script
comes from the installed `axe-playwright-python` package (no network beyond loopback).
"""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from store import channel_credentials
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import Console, browser, live_server, shot, signed_in_agent  # noqa: F401 (fixture)

playwright_api = pytest.importorskip("playwright.async_api")
axe_module = pytest.importorskip("axe_playwright_python.async_playwright")
pytestmark = pytest.mark.asyncio

TIMEOUT_MS = 15_000
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
FLOW = """\
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: never}
channels: {web: true}
start: inicio
blocks:
  inicio: {type: question, text: "Qual o seu CPF?", save_as: cpf, next: humano}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    check_hours: false
    on: {finished: depois, closed: fim, unavailable: fim, voicemail: fim}
    next: fim
  depois: {type: message, text: "Tabulação {{ wrapup_code }}. Algo mais?", next: fim}
  fim: {type: end, text: Obrigado pelo contato!}
"""


async def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical WCAG 2.1 AA violations on the page, one line each."""
    results = await axe_module.Axe().run(page, options=AXE_OPTIONS)
    return [
        f"{page.url} {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def setup(base: str, engine: sa.Engine) -> tuple[str, str]:
    """Suporte (wrap-up required), its integration, the bot, Ana (available), a quick reply;
    returns Ana's token and the bot's connector token."""
    admin = admin_headers()
    async with httpx.AsyncClient(base_url=base, headers=admin) as http:
        wrapup = {"required": True, "codes": ["Venda", "Dúvida"]}
        for service in [
            {"name": "Suporte", "extension": "100", "wrapup": wrapup},
            {"name": "Financeiro", "extension": "200"},
        ]:
            assert (await http.post("/api/omni/services", json=service)).status_code == 201
        made = await http.post("/api/omni/integrations", json={"service": "Suporte", "bot": "loja"})
        source = FLOW.replace("KEY", made.json()["api_key"])
        published = await http.put(
            "/api/bots/loja", content=source, headers={"Content-Type": "text/yaml"}
        )
        assert published.status_code in (200, 201), published.text
        ana = await http.post("/api/omni/agents", json={"name": "Ana", "services": ["Suporte"]})
        token = ana.json()["token"]
        text = "Olá, {{ contact.name }}! Sou {{ agent.name }}."
        reply = {"shortcut": "/ola", "title": "Saudação", "text": text}
        assert (await http.post("/api/omni/quick-replies", json=reply)).status_code == 201
    _, connector = channel_credentials.create(engine, "loja", "teste")
    return token, connector


async def customer_into_queue(base: str, connector: str, contact: str) -> None:
    auth = {"Authorization": f"Bearer {connector}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as http:
        for i, text in enumerate(["oi", "123"]):
            body = {"contact_id": contact, "message_id": f"{contact}-{i}", "text": text}
            body["contact"] = {"name": "Maria"}
            said = await http.post("/api/bots/loja/messages", json=body)
            assert said.status_code == 200, said.text
        assert said.json()["status"] == "waiting"


async def test_an_agent_uses_a_quick_reply_a_note_and_a_wrapup_code(
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
        await customer_into_queue(base, connector, "5511")
        await agent.get_by_role("button", name="Atender próximo").click()
        transcript = agent.locator("#transcript")
        await expect(transcript).to_contain_text("Vou te transferir")

        # a quick reply: the shortcut expands with the contact's and the agent's names
        await expect(agent.locator("#quick-hint")).to_contain_text("/ola")
        box = agent.get_by_label("Mensagem ao cliente")
        await box.fill("/ola")
        await box.press("Enter")
        await expect(box).to_have_value("Olá, Maria! Sou Ana.")
        await box.press("Enter")
        sent = transcript.locator(".msg.agent")
        await expect(sent).to_have_text(re.compile("Olá, Maria! Sou Ana."))

        # an internal note, marked as such in the transcript
        await agent.get_by_label("Nota interna (o cliente não vê)").fill("cliente VIP")
        await agent.get_by_role("button", name="Adicionar nota").click()
        note = transcript.locator(".msg.note")
        await expect(note).to_contain_text("Nota interna de Ana")
        await expect(note).to_contain_text("cliente VIP")

        # no wrap-up code: refused, in pt-BR; then with one
        await expect(agent.get_by_label("Tabulação")).to_contain_text("Venda")
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#conv-error")).to_have_text(
            "Escolha uma tabulação da lista do serviço para finalizar."
        )
        await shot(agent, "20-desk-tabulacao-exigida")
        assert await serious_violations(agent) == []
        await agent.get_by_label("Tabulação").select_option("Venda")
        await agent.get_by_label("Etiquetas (separadas por vírgula)").fill("vip, boleto")
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#toast")).to_contain_text("Atendimento finalizado")
        await shot(agent, "21-desk-finalizado")

        async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
            found = await http.get("/api/supervisor/conversations", params={"wrapup_code": "Venda"})
            assert [sorted(c["tags"]) for c in found.json()] == [["boleto", "vip"]]
        await context.close()
    assert console.errors == []


async def test_every_page_passes_axe(time_env, settings, engine, browser):  # noqa: F811
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        agent_token, connector = await setup(base, engine)
        await customer_into_queue(base, connector, "5522")
        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 900}, base_url=base
        )
        await context.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
            f"sessionStorage.setItem('transbordo.agentToken', {agent_token!r});"
        )
        page = await context.new_page()
        console.watch(page)
        found: list[str] = []
        for path in [
            "/",
            "/omni/servicos",
            "/omni/agentes",
            "/omni/respostas-rapidas",
            "/omni/integracoes",
            "/omni/integracoes/digital-contact-bots",
            "/omni/caixa-postal",
            "/supervisor",
            "/bots",
            "/bots/loja/atendimento-humano",
            "/atendimento",
            "/chat/loja",
        ]:
            await page.goto(path)
            await page.wait_for_load_state("load")
            await page.wait_for_function("() => !document.body.innerText.includes('Carregando…')")
            found += await serious_violations(page)
        await page.goto("/omni/servicos")
        await page.get_by_role("button", name="Novo Serviço").click()  # the dialog's form
        found += await serious_violations(page)
        await page.get_by_label("Ramal", exact=True).fill("12")  # a field's error, linked
        await page.locator("#service-form").get_by_label("Nome", exact=True).fill("Vendas")
        await page.locator("#service-form").get_by_role("button", name="Salvar").click()
        extension = page.get_by_label("Ramal", exact=True)
        await playwright_api.expect(extension).to_have_attribute("aria-invalid", "true")
        await playwright_api.expect(extension).to_have_accessible_description(
            re.compile("Ramal deve ter 3 dígitos.")
        )
        found += await serious_violations(page)
        await page.keyboard.press("Escape")
        row = page.locator("#services tr[data-service='Suporte']")
        edit = row.get_by_role("button", name="Editar Suporte")
        await playwright_api.expect(edit).to_be_visible()

        # the web chat says who sent each message to assistive technology
        await page.goto("/chat/loja")
        await page.get_by_label("Mensagem", exact=True).fill("oi")
        await page.get_by_label("Mensagem", exact=True).press("Enter")
        await playwright_api.expect(page.locator(".msg.bot")).to_have_text("Qual o seu CPF?")
        snapshot = await page.locator("#log").aria_snapshot()
        assert "Você disse: oi" in snapshot and "Bot: Qual o seu CPF?" in snapshot, snapshot
        await context.close()
    assert found == []
    assert console.errors == []
