"""Which customer each of the supervisor's "Conversas em andamento" is: the contact's id
shortened to its last characters ("…4321"), read from the conversation's row in the log.

Before, the list had service, situation, agent and time only: two customers waiting in one
service could not be told apart. The contact's name is not shown: SQL keeps none (it lives in
the conversation's workflow), and the list adds no personal data to what is stored; the whole
id (a phone number, for WhatsApp) does not leave the server either. The row's button names the
customer "cliente final 4321" (a screen reader reads "…" as "reticências"); the cell keeps
"…4321".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from omni.models import ServiceCreate
from store.services import create_service
from store.tables import conversations, queue_entries
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import Console, browser, live_server  # noqa: F401 (fixture)
from tests.test_desk_browser import customer_into_queue, setup
from tests.test_supervision import row
from transbordo.stack import stack_ring

PHONE = "5511987654321"
WEB = "web_Xq2vR8kLmN0pQ4sT6uVwYz9a"


def _conversation(n: int, contact_id: str) -> dict[str, object]:
    at = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    return {
        "id": f"c{n}",
        "workflow_id": f"w{n}",
        "bot": "loja",
        "bot_version": 1,
        "contact_id": contact_id,
        "status": "waiting",
        "created_at": at,
        "updated_at": at,
    }


async def test_each_open_conversation_says_its_contact_shortened(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    suporte = create_service(any_engine, ServiceCreate(name="Suporte"), stack_ring()).id
    with any_engine.begin() as conn:
        conn.execute(
            queue_entries.insert(),
            [{**row(n, suporte, "waiting", n, None, None), "agent_id": None} for n in (1, 2, 3)],
        )
        # c3's row is not in the log (yet): its contact is not known
        conn.execute(conversations.insert(), [_conversation(1, PHONE), _conversation(2, WEB)])
    answer = await any_admin_api.get("/api/supervisor/conversations/open", headers=admin_headers())
    assert answer.status_code == 200, answer.text
    contacts = {c["conversation_id"]: c["contact"] for c in answer.json()}
    assert contacts == {"c1": "…4321", "c2": "…Yz9a", "c3": None}
    assert PHONE not in answer.text and WEB not in answer.text


async def test_the_supervisor_page_shows_which_customer_each_open_conversation_is(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=15_000)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        _, connector = await setup(base, engine)
        await customer_into_queue(base, connector, PHONE)
        context = await browser.new_context(base_url=base, locale="pt-BR")
        page = await context.new_page()
        console.watch(page)
        await page.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        await page.goto("/supervisor")
        table = page.get_by_role("table", name="Conversas em andamento")
        await expect(table.get_by_role("columnheader", name="Cliente")).to_be_visible()
        listed = table.locator("#open-rows tr[data-conversation]")
        await expect(listed).to_have_count(1)
        await expect(listed.locator("td").nth(0)).to_have_text("…4321")
        await expect(listed.locator("td").nth(1)).to_have_text("Suporte")
        # said "cliente final 4321": a screen reader would read "…" as "reticências"
        await expect(listed.get_by_role("button")).to_have_accessible_name(
            re.compile(r"^Acompanhar: cliente final 4321, Suporte, Na fila, desde \d\d:\d\d$")
        )
        await context.close()
    assert console.errors == []
