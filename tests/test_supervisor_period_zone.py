"""The supervisor's "Período" says whose days it counts: the operator's time zone
(`TRANSBORDO_SUPERVISOR_TIMEZONE`), where the server puts each day's midnight.

Before, the date fields had no zone beside them, and the line under them wrote the period's
bounds in the browser's own zone: a supervisor in Tokyo who chose 20/11 read "De 20/11/2026,
13:00" beside "(America/Manaus)", not the midnight the figures start at.
"""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server  # noqa: F401


async def test_the_period_is_labelled_with_the_zone_its_days_are_counted_in(
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
    settings,
    engine,
    time_env,  # type: ignore[no-untyped-def]
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    manaus = settings.model_copy(update={"supervisor_timezone": "America/Manaus"})  # UTC-4
    console = Console()
    async with live_server(time_env, manaus, engine) as base:
        context = await browser.new_context(
            base_url=base, locale="pt-BR", timezone_id="Asia/Tokyo"
        )  # the supervisor's browser is elsewhere: UTC+9
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        console.watch(page)
        await page.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        await page.goto("/supervisor")
        since = page.get_by_label("De", exact=True)
        await expect(page.locator("#period-zone")).to_have_text("Fuso horário: America/Manaus")
        await expect(since).to_have_accessible_description("Fuso horário: America/Manaus")
        await since.fill("2026-11-20")
        await page.get_by_label("até", exact=True).fill("2026-11-20")
        await page.get_by_role("button", name="Ver período").click()
        await expect(page.locator("#period-range")).to_have_text(
            "De 20/11/2026, 00:00:00 até 21/11/2026, 00:00:00 (America/Manaus)"
        )
        await context.close()
    assert console.errors == []
