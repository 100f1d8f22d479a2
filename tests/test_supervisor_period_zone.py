"""The supervisor screen writes its days and times in the operator's time zone
(`TRANSBORDO_SUPERVISOR_TIMEZONE`), where the server puts each day's midnight, and says so.

Before, the date fields had no zone beside them, and the line under them wrote the period's
bounds in the browser's own zone: a supervisor in Tokyo who chose 20/11 read "De 20/11/2026,
13:00" beside "(America/Manaus)", not the midnight the figures start at. Then the zone's label
came only with the first period answer (empty before it, and for good when it failed); the
period's end was the exclusive midnight after the day chosen ("até 21/11/2026, 00:00:00" for
"até 20/11"); and the open conversations' "Desde" and the actions' times were the browser's
zone's, beside half hours in the server's.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omni.models import ServiceCreate
from store.services import create_service
from store.tables import conversations, queue_entries, supervisor_actions
from tests.conftest import ADMIN_TOKEN
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server  # noqa: F401
from tests.test_supervision import row
from transbordo.stack import stack_ring

T0 = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 09:00 in Manaus, 22:00 in Tokyo


def _waiting_since_nine_in_manaus(engine) -> None:  # type: ignore[no-untyped-def]
    """c1 waits in Suporte since 13:00:50 UTC; a supervisor whispered on it at 13:01:01."""
    suporte = create_service(engine, ServiceCreate(name="Suporte"), stack_ring()).id
    with engine.begin() as conn:
        conn.execute(queue_entries.insert(), {**row(1, suporte, "waiting", 50, None, None)})
        conn.execute(
            conversations.insert(),
            {
                "id": "c1",
                "workflow_id": "w1",
                "bot": "loja",
                "bot_version": 1,
                "contact_id": "5511987654321",
                "status": "waiting",
                "created_at": T0,
                "updated_at": T0,
            },
        )
        conn.execute(
            supervisor_actions.insert(),
            {
                "id": "a1",
                "conversation_id": "c1",
                "action": "whisper",
                "supervisor": "Carla",
                "created_at": datetime(2026, 11, 20, 13, 1, 1, tzinfo=UTC),
            },
        )


async def test_the_period_is_labelled_with_the_zone_its_days_are_counted_in(
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
    settings,
    engine,
    time_env,  # type: ignore[no-untyped-def]
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    manaus = settings.model_copy(update={"supervisor_timezone": "America/Manaus"})  # UTC-4
    _waiting_since_nine_in_manaus(engine)
    console = Console()
    async with live_server(time_env, manaus, engine) as base:
        context = await browser.new_context(
            base_url=base, locale="pt-BR", timezone_id="Asia/Tokyo"
        )  # the supervisor's browser is elsewhere: UTC+9
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        console.watch(page)
        # not signed in yet: no figures answered, the zone is named all the same
        await page.goto("/supervisor")
        await expect(page.get_by_role("dialog", name="Entrar como supervisor")).to_be_visible()
        await expect(page.locator("#period-zone")).to_have_text("Fuso horário: America/Manaus")

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
            "De 20/11/2026 00:00 até o fim de 20/11/2026 (America/Manaus)"
        )

        # the open conversation's "Desde" and its actions: Manaus's 09:00, not Tokyo's 22:00
        listed = page.locator("#open-rows tr[data-conversation='c1']")
        await expect(listed.locator("td").nth(4)).to_have_text("09:00")
        follow = listed.get_by_role("button")
        await expect(follow).to_have_accessible_name(
            "Acompanhar: cliente final 4321, Suporte, Na fila, desde 09:00"
        )
        await follow.click()
        await expect(page.locator("#live-actions li")).to_have_text(
            ["20/11/2026, 09:01:01 — Carla: Sussurro"]
        )
        await context.close()
        with engine.begin() as conn:  # no workflow behind c1's row for the server's end to end
            conn.execute(conversations.delete().where(conversations.c.id == "c1"))
    assert console.errors == []
