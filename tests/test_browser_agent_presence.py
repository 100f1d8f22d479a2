"""The Tela de Atendimento after the agent closed the tab without "Sair": past the presence
timeout the agent is offline, and the screen, opened again, shows Offline and says why until
the agent chooses a status (chromium, the real worker and API over HTTP)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from api import presence
from store.common import now
from tests.conftest import admin_headers, pydantic_client
from tests.live import eventually
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

UNSEEN = "Você ficou offline por inatividade na tela."


async def test_the_screen_opened_again_says_the_agent_went_offline_while_away(
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
        made = await http.post("/api/omni/services", json={"name": "Suporte"}, headers=admin)
        assert made.is_success, made.text
        made = await http.post(
            "/api/omni/agents", json={"name": "Ana", "services": ["Suporte"]}, headers=admin
        )
        token = made.json()["token"]
        ana = {"Authorization": f"Bearer {token}"}

        async def status() -> str:
            return str((await http.get("/api/agent/me", headers=ana)).json()["status"])

        async def is_(wanted: str) -> bool | None:
            return True if await status() == wanted else None

        context = await browser.new_context(locale="pt-BR", base_url=base)
        tab = await signed_in_agent(context, console, token)
        await expect(tab.locator("#live")).to_have_text("ao vivo")
        await eventually(lambda: is_("available"), "Ana available")
        await tab.close()  # the tab closed without "Sair"

        timeout = settings.agent_presence_timeout_seconds
        at = now() + timedelta(seconds=timeout, milliseconds=1)
        swept = await presence.sweep(engine, pydantic_client(time_env), timeout, at)
        assert swept == [made.json()["id"]]

        tab = await signed_in_agent(context, console, token, available=False)
        await expect(tab.locator("#live")).to_have_text("ao vivo")
        await expect(tab.locator("[name=status][value=offline]")).to_be_checked()
        note = tab.get_by_role("status").filter(has_text=UNSEEN)
        await expect(note).to_be_visible()
        await shot(tab, "13b-tela-de-atendimento-offline-por-inatividade")

        await tab.locator(".segmented label", has_text="Disponível").click()
        await expect(note).to_be_hidden()
        await eventually(lambda: is_("available"), "Ana available again")
        await context.close()  # before the server stops: its open stream ends cleanly
    assert console.errors == []
