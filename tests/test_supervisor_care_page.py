"""The supervisor screen's care sections in a real browser: alerts and CSAT answers, read from
SQL through the API (`supervisor_care.js`), after the one admin login of the page."""

from __future__ import annotations

import httpx

from store import care
from store.common import now
from tests.conftest import ADMIN_TOKEN, admin_headers
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
        await page.get_by_label("Token de supervisor ou de administrador").fill(ADMIN_TOKEN)
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


async def test_the_service_form_sets_the_care_rules(time_env, settings, engine, browser):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            made = await http.post(
                "/api/omni/services",
                json={"name": "Suporte", "care": {"wait_notice_repeat": 7}},
                headers=admin_headers(),
            )
            assert made.status_code == 201, made.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/omni/servicos")
        await page.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await page.get_by_role("button", name="Entrar").click()
        await page.get_by_role("button", name="Editar Suporte").click()
        form = page.locator("#service-form")
        await form.get_by_label("Tempo máximo sem resposta do atendente (s)").fill("90")
        await form.get_by_label("Quando o atendente não responde").select_option("requeue")
        await form.get_by_label("Pesquisa de satisfação (CSAT)").check()
        await form.get_by_role("button", name="Salvar").click()
        await expect(page.locator("#service-dialog")).not_to_be_visible()
        async with httpx.AsyncClient(base_url=base) as http:
            services = (await http.get("/api/omni/services", headers=admin_headers())).json()
        await context.close()
    care = services[0]["care"]
    assert (care["agent_reply_seconds"], care["agent_silence_action"], care["csat"]) == (
        90,
        "requeue",
        True,
    )
    assert care["wait_notice_repeat"] == 7  # not on the form: kept
    assert console.errors == []
