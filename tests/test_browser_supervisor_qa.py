"""The Supervisor screen's QA findings in a real Chromium: the admin's default name ("Seu nome"
left as "Supervisor") is said once, not "Supervisor Supervisor", by the agent's screen, the
Supervisor screen and the web chat; counts of one are singular ("1 disponível"); an action with
no conversation watched or no message says so on the error line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omni.models import AgentCreate, ServiceCreate
from store.agents import create_agent, set_agent_status
from store.services import create_service
from store.tables import queue_entries
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, signed_in_agent  # noqa: F401 (fixture)
from tests.test_desk_browser import customer_into_queue, setup
from tests.test_supervision import row
from transbordo.stack import stack_ring

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
pytestmark = pytest.mark.asyncio

TOKEN_SCRIPT = f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"


async def supervisor_page(context: Any, console: Console) -> Any:
    """The Supervisor screen with the admin token (no name typed: "Seu nome" as it comes)."""
    page = await context.new_page()
    console.watch(page)
    await page.add_init_script(TOKEN_SCRIPT)
    await page.goto("/supervisor")
    return page


async def test_the_admins_default_name_is_said_once(
    time_env: Any,
    settings: Any,
    engine: sa.Engine,
    browser: Any,  # noqa: F811 (the fixture of tests/test_browser.py)
) -> None:
    """Whisper, barge-in and "Passar a este atendente" with "Seu nome" left as "Supervisor": the
    agents and the Supervisor screen read "Supervisor passou o atendimento para Beto." (the
    workflow's text keeps "Supervisor Supervisor …": old histories read the same way)."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        ana_token, connector = await setup(base, engine)
        async with httpx.AsyncClient(base_url=base, headers=admin_headers()) as http:
            made = await http.post(
                "/api/omni/agents", json={"name": "Beto", "services": ["Suporte"]}
            )
            beto_token = made.json()["token"]
        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 900}, base_url=base
        )
        ana = await signed_in_agent(context, console, ana_token)
        await expect(ana.locator("#toast")).to_contain_text("Disponível")
        await customer_into_queue(base, connector, "5544")
        await ana.get_by_role("button", name="Atender próximo").click()
        await expect(ana.locator("#transcript")).to_contain_text("Vou te transferir")
        elsewhere = await browser.new_context(locale="pt-BR", base_url=base)  # Ana's is signed in
        beto = await signed_in_agent(elsewhere, console, beto_token)
        await expect(beto.locator("#toast")).to_contain_text("Disponível")

        supervisor = await supervisor_page(context, console)
        await expect(supervisor.get_by_label("Seu nome")).to_have_value("Supervisor")
        await supervisor.locator("#open-rows").get_by_role("button", name="Acompanhar").click()
        live = supervisor.locator("#live-transcript")
        await expect(live).to_contain_text("Vou te transferir")
        message = supervisor.get_by_label("Mensagem do supervisor")
        await message.fill("Ofereça o parcelamento")
        await supervisor.get_by_role("button", name="Sussurrar ao atendente").click()
        await expect(live.locator(".msg.whisper .who")).to_have_text("Sussurro ao atendente: ")
        await message.fill("Olá, sou a supervisora.")
        await supervisor.get_by_role("button", name="Falar com o cliente").click()
        await expect(live.locator(".msg.supervisor .who")).to_have_text("Supervisor: ")

        transcript = ana.locator("#transcript")
        await expect(transcript.locator(".msg.whisper .who")).to_have_text(
            "Supervisor (só para você): "
        )
        await expect(transcript.locator(".msg.supervisor .who")).to_have_text("Supervisor")
        await expect(transcript.locator(".msg.supervisor")).to_contain_text(
            "Olá, sou a supervisora."
        )

        await supervisor.get_by_label("Atendente", exact=True).select_option(label="Beto")
        await supervisor.get_by_role("button", name="Passar a este atendente").click()
        await expect(live.locator(".msg.supervisor_notice")).to_have_text(
            "Aviso: Supervisor passou o atendimento para Beto."
        )
        notice = beto.locator("#transcript .supervisor-notice")
        await expect(notice).to_have_text("Supervisor passou o atendimento para Beto.")
        await expect(beto.locator("#transcript .msg.supervisor .who")).to_have_text("Supervisor")
        for page in (ana, beto, supervisor):
            assert "Supervisor Supervisor" not in await page.locator("body").inner_text()

        # the web chat's bubble of a barge-in (chat_render.js), unnamed and named
        titles = await supervisor.evaluate(
            """async () => {
              const { render } = await import("/static/js/chat_render.js");
              const who = (name) => render(
                { from: "supervisor", text: "oi", data: { supervisor: name } },
                { choose() {}, media: {} },
              ).querySelector(".who").textContent;
              return [who("Supervisor"), who("Carla"), who(undefined), who("Supervisora Carla")];
            }"""
        )
        assert titles == ["Supervisor", "Supervisor Carla", "Supervisor", "Supervisora Carla"]
        await context.close()
        await elsewhere.close()
    # Ana's screen asks once more for the conversation passed to Beto: refused (Chromium logs it)
    gone = "status of 403 (Forbidden) (http://"
    assert [e for e in console.errors if not (gone in e and "/api/agent/conversations/" in e)] == []


async def test_counts_of_one_are_singular(
    browser: Any,  # noqa: F811
    settings: Any,
    engine: sa.Engine,
    time_env: Any,
) -> None:
    """One agent available and one away: "1 disponível, 1 ausente", "2 (1 disponível)"; one
    contact a day in a half hour: "1 contato previsto"."""
    service = create_service(engine, ServiceCreate(name="Suporte"), stack_ring()).id
    for name, state in (("Ana", "available"), ("Beto", "away")):
        agent = create_agent(engine, AgentCreate(name=name, services=["Suporte"]))
        set_agent_status(engine, agent.id, state)  # type: ignore[arg-type]
    # yesterday, one contact in this half hour and one in the next (either is ahead still)
    now = datetime.now(UTC)
    slot = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    base = slot - timedelta(days=1) + timedelta(minutes=1)
    with engine.begin() as conn:
        conn.execute(
            queue_entries.insert(),
            [row(n, service, "finished", 1800 * n, 1800 * n + 5, 1800 * n + 60, base=base)
             for n in (0, 1)],
        )  # fmt: skip
    console = Console()
    async with live_server(time_env, settings, engine) as base_url:
        page = await browser.new_page(base_url=base_url)
        page.set_default_timeout(TIMEOUT_MS)
        console.watch(page)
        await page.add_init_script(TOKEN_SCRIPT)
        await page.goto("/supervisor")
        live = page.locator("#live-rows tr[data-service='Suporte'] td")
        await expect(live.nth(3)).to_have_text("1 disponível, 1 ausente")
        staffing = page.locator("#staffing-rows tr[data-service='Suporte'] td")
        await expect(staffing.nth(0)).to_have_text("2 (1 disponível)")  # online: away too
        slots = staffing.nth(4).locator("li")
        await expect(slots.filter(has_text="(1 contato previsto)").first).to_be_attached()
        await expect(slots.filter(has_text="contatos previstos").first).to_be_attached()
        await page.close()
    assert console.errors == []


async def test_an_action_without_a_conversation_or_a_message_says_so(
    time_env: Any,
    settings: Any,
    engine: sa.Engine,
    browser: Any,  # noqa: F811
) -> None:
    """The act buttons ("Sussurrar ao atendente", "Passar a este atendente") with no conversation
    watched, a whisper with no message: the error line says what to do, and a refresh keeps it."""
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        _, connector = await setup(base, engine)
        await customer_into_queue(base, connector, "5566")
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await supervisor_page(context, console)
        error = page.locator("#live-error")
        await expect(page.locator("#live-agent option")).to_have_text(["Ana"])
        await page.get_by_label("Mensagem do supervisor").fill("Ofereça o parcelamento")
        await page.get_by_role("button", name="Sussurrar ao atendente").click()
        await expect(error).to_have_text("Escolha uma conversa (Acompanhar) primeiro.")
        await expect(page.get_by_label("Mensagem do supervisor")).to_have_value(
            "Ofereça o parcelamento"
        )

        await page.reload()
        await expect(page.locator("#live-agent option")).to_have_text(["Ana"])
        await expect(error).to_have_text("")
        await page.get_by_role("button", name="Passar a este atendente").click()
        await expect(error).to_have_text("Escolha uma conversa (Acompanhar) primeiro.")

        await page.locator("#open-rows").get_by_role("button", name="Acompanhar").click()
        await expect(error).to_have_text("")  # watching one now
        live = page.locator("#live-transcript")
        await expect(live).to_contain_text("Vou te transferir")
        await page.get_by_role("button", name="Sussurrar ao atendente").click()
        await expect(error).to_have_text("Escreva a mensagem primeiro.")
        await expect(page.get_by_label("Mensagem do supervisor")).to_be_focused()
        # the transcript's next refresh (every 2 s) replaces its entries: the message stays
        first = live.locator(".msg").first
        await first.evaluate("(node) => { window.qaSeen = node; }")
        await page.wait_for_function("() => window.qaSeen && !window.qaSeen.isConnected")
        await expect(error).to_have_text("Escreva a mensagem primeiro.")
        await context.close()
    assert console.errors == []
