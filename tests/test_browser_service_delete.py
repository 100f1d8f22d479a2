"""The Serviços page in a real Chromium deleting a service a published flow names (in another
case): it says which bots in pt-BR and deletes only if the admin confirms again.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); never `playwright install`.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import admin_headers
from tests.test_admin_names import flow
from tests.test_browser import browser, live_server  # noqa: F401 (fixture)
from tests.test_browser_admin_edits import TIMEOUT_MS, admin_page

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio


async def test_the_services_page_deletes_a_service_flows_name_only_when_confirmed(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers()) as http,
    ):
        suporte = (await http.post("/api/omni/services", json={"name": "Suporte"})).json()
        vendas = (await http.post("/api/omni/services", json={"name": "Vendas"})).json()
        put = await http.put(
            "/api/bots/loja", content=flow("loja", "suporte"), headers={"Content-Type": "text/yaml"}
        )
        assert put.status_code == 201, put.text
        page = await admin_page(browser, base, "/omni/servicos", errors)
        expect = playwright_api.expect
        row = page.locator("#services tr[data-service='Suporte']")
        await expect(row).to_be_visible()

        said: list[str] = []
        answers: list[bool] = []
        asked_twice = asyncio.Event()

        async def answer(dialog) -> None:  # type: ignore[no-untyped-def]
            said.append(dialog.message)
            if len(said) % 2 == 0:
                asked_twice.set()
            await (dialog.accept() if answers.pop(0) else dialog.dismiss())

        page.on("dialog", answer)

        # "Excluir", yes; then told the bot loja uses it: not this time
        answers[:] = [True, False]
        await page.get_by_role("button", name="Excluir Suporte").click()
        await asyncio.wait_for(asked_twice.wait(), TIMEOUT_MS / 1000)  # a deadline, no sleep
        assert "Excluir o serviço “Suporte”?" in said[0]
        assert "O fluxo publicado do bot loja usa o serviço “Suporte” no bloco Humano" in said[1]
        assert "Excluir mesmo assim?" in said[1]
        assert (await http.get(f"/api/omni/services/{suporte['id']}")).status_code == 200
        await expect(row).to_be_visible()

        # confirmed twice: gone
        answers[:] = [True, True]
        await page.get_by_role("button", name="Excluir Suporte").click()
        await expect(row).to_have_count(0)
        assert len(said) == 4 and "bot loja" in said[3]
        assert (await http.get(f"/api/omni/services/{suporte['id']}")).status_code == 404

        # a service no flow names: asked once
        answers[:] = [True]
        await page.get_by_role("button", name="Excluir Vendas").click()
        await expect(page.locator("#services tr[data-service='Vendas']")).to_have_count(0)
        assert len(said) == 5 and "“Vendas”" in said[4]
        assert (await http.get(f"/api/omni/services/{vendas['id']}")).status_code == 404
    assert not errors, errors
