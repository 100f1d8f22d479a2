"""The supervisor screen's care sections in a real browser: alerts and CSAT answers, read from
SQL through the API (`supervisor_care.js`), after the one admin login of the page."""

from __future__ import annotations

from store import care
from store.common import now
from tests.conftest import ADMIN_TOKEN
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, playwright_api

__all__ = ["browser"]  # the fixture, used by name


async def test_the_supervisor_sees_alerts_and_satisfaction(time_env, settings, engine, browser):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    care.add_alert(
        engine,
        care.Alert(
            id="al1",
            kind="agent_silence",
            conversation_id="c_1",
            service_id=None,
            service_name="Suporte",
            agent_id=None,
            agent_name="Ana",
            detail="cliente sem resposta há 120 s",
            created_at=now(),
        ),
    )
    for n, score in enumerate((5, 4)):
        care.save_csat(
            engine,
            care.CsatAnswer(
                id=f"cs{n}",
                conversation_id=f"c_{n}",
                service_id=None,
                service_name="Suporte",
                agent_id=None,
                agent_name="Ana",
                score=score,
                comment="muito atenciosa" if n == 0 else None,
                answered_at=now(),
            ),
        )
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/supervisor")
        await page.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await page.get_by_role("button", name="Entrar").click()
        alerts = page.locator("#alert-rows")
        await expect(alerts).to_contain_text(
            "Atendente sem responder: cliente sem resposta há 120 s"
        )
        await expect(alerts).to_contain_text("Ana")
        await expect(page.locator("#csat-rows tr")).to_have_count(2)
        await expect(page.locator("#csat-rows")).to_contain_text("muito atenciosa")
        await expect(page.locator("#csat-averages")).to_have_text(
            "Média por serviço — Suporte: 4,5"
        )
        await expect(page.locator("#agent-rows")).to_contain_text("Nenhum atendente")
        await context.close()
    assert console.errors == []
