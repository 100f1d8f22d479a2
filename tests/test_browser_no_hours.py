"""The Atendimento Humano page of a bot with no business hours, in a real Chromium.

Before, the page showed such a bot (open at any hour) as seven unchecked days, and saving its
hours form (the emergency switch on and off) or its holidays wrote `hours: {}`: closed for good.
Now it says "Sem horário definido: atende a qualquer hora", saving leaves the hours absent, and
the admin may set days and hours and go back to none.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); never `playwright install`.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import admin_headers
from tests.test_browser import browser, live_server  # noqa: F401 (fixture)
from tests.test_browser_admin_edits import admin_page

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio

ANY_HOUR = "Sem horário definido: atende a qualquer hora"
FLOW = """\
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: never}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    on: {closed: fim}
    next: fim
  fim: {type: end, text: Obrigado!}
"""


async def test_a_bot_without_hours_is_shown_open_at_any_hour_and_saves_stay_so(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    expect = playwright_api.expect
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers()) as http,
    ):
        await http.post("/api/omni/services", json={"name": "Suporte"})
        made = await http.post("/api/omni/integrations", json={"service": "Suporte", "bot": "loja"})
        assert made.status_code == 201, made.text
        live = FLOW.replace('"KEY"', f'"{made.json()["api_key"]}"')  # a live key: no warning
        put = await http.put("/api/bots/loja", content=live, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text
        assert put.json()["warnings"] == []
        page = await admin_page(browser, base, "/bots/loja/atendimento-humano", errors)
        version = page.locator("#version-line")
        await expect(version).to_have_text("Versão 1 publicada")
        hours = page.locator("#hours-form")
        await expect(hours.get_by_label(ANY_HOUR)).to_be_checked()
        await expect(hours.locator(".hours-table")).to_be_hidden()  # no seven unchecked days

        async def schedule() -> dict:
            return (await http.get("/api/bots/loja/settings")).json()["schedule"]

        # "Fechamento emergencial" on, then off: open at any hour again, no `hours: {}`
        for number, closed in ((2, True), (3, False)):
            switch = hours.get_by_label("Fechamento emergencial")
            await (switch.check() if closed else switch.uncheck())
            await hours.get_by_role("button", name="Salvar").click()
            await expect(version).to_have_text(f"Versão {number} publicada")
            now = await schedule()
            assert now["hours"] is None and now["emergency_closed"] is closed
        await expect(hours.get_by_label(ANY_HOUR)).to_be_checked()

        # a holiday: the hours stay absent (closed on the holiday only)
        holidays = page.locator("#holidays-form")
        await holidays.get_by_role("button", name="Adicionar dia de folga").click()
        await page.get_by_label("Data do dia de folga 1").fill("12-25")
        await page.get_by_label("Nome do dia de folga 1").fill("Natal")
        await holidays.get_by_role("button", name="Salvar").click()
        await expect(version).to_have_text("Versão 4 publicada")
        now = await schedule()
        assert now["hours"] is None and now["holidays"] == [{"date": "12-25", "name": "Natal"}]
        await expect(page.locator("#published .notice.warn")).to_have_count(0)
        await expect(hours.get_by_label(ANY_HOUR)).to_be_checked()

        # days and hours set, then none again: the holiday stays
        await hours.get_by_label("Definir dias e horários").check()
        await expect(hours.locator(".hours-table")).to_be_visible()
        await hours.locator("#open-mon").check()
        await hours.get_by_role("button", name="Salvar").click()
        await expect(version).to_have_text("Versão 5 publicada")
        assert (await schedule())["hours"] == {"mon": ["08:00-18:00"]}
        await expect(hours.get_by_label("Definir dias e horários")).to_be_checked()
        await hours.get_by_label(ANY_HOUR).check()
        await expect(hours.locator(".hours-table")).to_be_hidden()
        await hours.get_by_role("button", name="Salvar").click()
        await expect(version).to_have_text("Versão 6 publicada")
        now = await schedule()
        assert now["hours"] is None and now["holidays"] == [{"date": "12-25", "name": "Natal"}]

        # days and hours chosen but none open: published, with a warning
        await hours.get_by_label("Definir dias e horários").check()
        await hours.get_by_role("button", name="Salvar").click()
        await expect(version).to_have_text("Versão 7 publicada")
        assert (await schedule())["hours"] == {}
        await expect(page.locator("#published .notice.warn")).to_have_count(1)
        await expect(page.locator("#published .notice.warn")).to_contain_text("Aviso: ")
        await page.context.close()
    assert not errors, errors
