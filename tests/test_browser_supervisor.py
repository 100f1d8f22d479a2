"""The supervisor's indicators in a real Chromium: the live line, a chosen period and the
staffing advice, over seeded queue history (tests/test_supervision.py's known day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from omni.models import AgentCreate
from store.agents import create_agent, get_agent
from store.tables import queue_entries
from tests.conftest import ADMIN_TOKEN
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, shot  # noqa: F401
from tests.test_supervision import row, seeded

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


async def test_the_supervisor_sees_now_a_period_and_the_agents_needed(
    browser,  # noqa: F811
    settings,
    engine: sa.Engine,
    time_env,  # type: ignore[no-untyped-def]
) -> None:
    service = seeded(engine)
    # yesterday, in the operator's zone's current half hour and the next: 100 contacts each
    now = datetime.now(UTC)
    slot = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(
            queue_entries.insert(),
            [
                row(
                    1000 + 10 * k + i,
                    service,
                    "finished",
                    i,
                    i,
                    i + 180,
                    base=slot - timedelta(days=1) + timedelta(minutes=k),
                )  # fmt: skip
                for k in (0, 30)
                for i in range(100)
            ],
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

        live = page.locator("#live-rows tr[data-service='Suporte'] td")
        await expect(live.nth(0)).to_have_text("1")  # na fila
        await expect(live.nth(2)).to_have_text("1")  # em atendimento
        await expect(live.nth(3)).to_have_text("1 disponível, 1 em pausa, 1 offline")
        await expect(live.nth(4)).to_have_text("0")  # ofertas pendentes

        await page.get_by_label("De", exact=True).fill("2026-11-20")
        await page.get_by_label("até", exact=True).fill("2026-11-20")
        await page.get_by_role("button", name="Ver período").click()
        # the days as chosen, in the operator's zone: not "até 21/11/2026, 00:00:00"
        await expect(page.locator("#period-range")).to_have_text(
            "De 20/11/2026 00:00 até o fim de 20/11/2026 (America/Sao_Paulo)"
        )
        await expect(page.locator("#period-zone")).to_have_text("Fuso horário: America/Sao_Paulo")
        period = page.locator("#period-rows tr[data-service='Suporte'] td")
        await expect(period.nth(0)).to_have_text("6")
        await expect(period.nth(1)).to_have_text("50% / 80% em 60 s")
        await expect(period.nth(1)).to_have_class("num below")
        await expect(period.nth(3)).to_have_text("33,3%")
        await expect(period.nth(4)).to_have_text("3 min 20 s")
        await expect(period.nth(5)).to_have_text("—")  # CSAT: not yet
        await expect(period.nth(6)).to_have_text("boleto 2 · troca 1")  # tabulações
        await expect(period.nth(7)).to_have_text("vip 2 · urgente 1")  # etiquetas

        staffing = page.locator("#staffing-rows tr[data-service='Suporte'] td")
        await expect(staffing.nth(0)).to_have_text("2 (1 disponível)")
        await expect(staffing.nth(1)).to_have_text("0")  # nobody in the last 30 minutes
        await expect(staffing.nth(2)).to_have_text("13")  # 10 Erlangs, 80% in 60 s
        await shot(page, "20-supervisor-indicadores")
    assert console.errors == []


async def test_a_supervisor_signs_in_with_its_own_token_and_sees_its_services(
    browser,  # noqa: F811
    settings,
    engine: sa.Engine,
    time_env,  # type: ignore[no-untyped-def]
) -> None:
    """The login dialog takes a supervisor's own token (a plain agent's is refused, in pt-BR);
    the screen then shows only the supervisor's services, and no name to sign with."""
    seeded(engine)  # Suporte (Ana, Beto, Caio) and Vendas
    carla = create_agent(engine, AgentCreate(name="Carla", services=["Suporte"], supervisor=True))
    eva = create_agent(engine, AgentCreate(name="Eva", services=["Vendas"]))
    console = Console()
    async with live_server(time_env, settings, engine) as base_url:
        page = await browser.new_page(base_url=base_url)
        page.set_default_timeout(TIMEOUT_MS)
        console.watch(page)
        await page.goto("/supervisor")
        dialog = page.get_by_role("dialog", name="Entrar como supervisor")
        token = dialog.get_by_label("Token de supervisor ou de administrador")
        await token.fill(eva.token)
        await dialog.get_by_role("button", name="Entrar").click()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "Este atendente não é supervisor: peça ao administrador."
        )
        await token.fill(carla.token)
        await dialog.get_by_role("button", name="Entrar").click()
        await expect(dialog).to_be_hidden()

        await expect(page.locator("#who")).to_have_text("Supervisor Carla: Suporte.")
        await expect(page.locator("#service-rows tr[data-service='Suporte']")).to_be_visible()
        await expect(page.locator("#live-rows tr[data-service='Suporte']")).to_be_visible()
        await expect(page.locator("#live-service option")).to_have_text(["Suporte"])
        await expect(page.get_by_label("Seu nome")).to_be_hidden()
        await expect(page.locator("#service-rows tr[data-service='Vendas']")).to_have_count(0)
        await expect(page.locator("#live-rows tr[data-service='Vendas']")).to_have_count(0)
        await shot(page, "21-supervisor-proprio-token")

        # the admin makes Eva a supervisor on the Agentes screen
        admin = await browser.new_page(base_url=base_url)
        admin.set_default_timeout(TIMEOUT_MS)
        console.watch(admin)
        await admin.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', '{ADMIN_TOKEN}')"
        )
        await admin.goto("/omni/agentes")
        await admin.get_by_role("button", name="Editar Eva").click()
        await admin.get_by_label("Supervisor").check()
        await admin.get_by_role("button", name="Salvar").click()
        await expect(admin.get_by_role("row", name="Eva Supervisor")).to_be_visible()
        # closed while the server is up: a screen left open would poll the stopped server and
        # log a refused connection (seen once in CI), which is not the user's experience
        await page.close()
        await admin.close()
    assert get_agent(engine, eva.id).supervisor is True
    # the plain agent's probe, refused on purpose (Chromium logs it); nothing else
    assert [e for e in console.errors if "status of 403" not in e] == []
    assert len(console.errors) == 1
