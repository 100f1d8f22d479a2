"""The admin pages in a real Chromium when another admin changed the same thing meanwhile
(they send `If-Match` and say the 412 in pt-BR), and when a service's rename would break a
published flow (they say which bots and rename only if the admin confirms).

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); never `playwright install`.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import browser, live_server  # noqa: F401 (fixture)

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio

TIMEOUT_MS = 15_000
REFUSED_ON_PURPOSE = re.compile(r"Failed to load resource: .* status of (409|412) ")
STALE_PT = "Outra pessoa alterou isto depois que você abriu a página"
FLOW = """\
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: never}
schedule:
  timezone: America/Sao_Paulo
  hours: {mon-fri: ["08:00-18:00"]}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    next: fim
  fim: {type: end, text: Obrigado!}
"""


async def admin_page(browser, base: str, path: str, errors: list[str]):  # type: ignore[no-untyped-def]  # noqa: F811
    context = await browser.new_context(locale="pt-BR", base_url=base)
    await context.add_init_script(
        f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r})"
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on(
        "console",
        lambda m: (
            m.type == "error" and not REFUSED_ON_PURPOSE.search(m.text) and errors.append(m.text)
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(path)
    return page


async def test_the_bot_settings_page_says_in_ptbr_that_someone_else_published(
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
        await http.post("/api/omni/services", json={"name": "Suporte"})
        put = await http.put("/api/bots/loja", content=FLOW, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text
        page = await admin_page(browser, base, "/bots/loja/atendimento-humano", errors)
        await playwright_api.expect(page.locator("#version-line")).to_have_text(
            "Versão 1 publicada"
        )
        # another admin changes the holidays while this page shows version 1
        other = await http.patch(
            "/api/bots/loja/settings",
            json={"schedule": {"holidays": [{"date": "12-25", "name": "Natal"}]}},
        )
        assert other.status_code == 201 and other.json()["version"] == 2
        hours = page.locator("#hours-form")
        await page.get_by_label("Fechamento emergencial").check()
        await hours.get_by_role("button", name="Salvar").click()
        await playwright_api.expect(hours.locator(".form-error")).to_contain_text(STALE_PT)
        now = (await http.get("/api/bots/loja/settings")).json()
        assert now["version"] == 2 and not now["schedule"].get("emergency_closed")
        assert now["schedule"]["holidays"] == [{"date": "12-25", "name": "Natal"}]

        # reloaded, the same change is saved on version 2 and keeps the other's holiday
        await page.reload()
        await playwright_api.expect(page.locator("#version-line")).to_have_text(
            "Versão 2 publicada"
        )
        await page.get_by_label("Fechamento emergencial").check()
        await hours.get_by_role("button", name="Salvar").click()
        await playwright_api.expect(page.locator("#version-line")).to_have_text(
            "Versão 3 publicada"
        )
        now = (await http.get("/api/bots/loja/settings")).json()
        assert now["schedule"]["emergency_closed"] is True
        assert now["schedule"]["holidays"] == [{"date": "12-25", "name": "Natal"}]
    assert not errors, errors


async def test_the_services_page_renames_a_service_flows_name_only_when_confirmed(
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
        made = await http.post("/api/omni/services", json={"name": "Suporte"})
        put = await http.put("/api/bots/loja", content=FLOW, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text
        page = await admin_page(browser, base, "/omni/servicos", errors)
        form = page.locator("#service-form")

        # "SUPORTE" is the name Suporte has: the page names the one that exists, and why
        await page.get_by_role("button", name="Novo Serviço").click()
        await form.get_by_label("Nome", exact=True).fill("SUPORTE")
        await form.get_by_role("button", name="Salvar").click()
        await playwright_api.expect(form.locator("[data-field='name'] .field-error")).to_have_text(
            "Já existe um serviço chamado “Suporte”. Nomes que só diferem em maiúsculas, acentos"
            " ou espaços são o mesmo nome."
        )
        await page.keyboard.press("Escape")

        async def rename(to: str) -> None:
            await page.get_by_role("button", name="Editar Suporte").click()
            await form.get_by_label("Nome", exact=True).fill(to)
            await form.get_by_role("button", name="Salvar").click()

        said: list[str] = []

        async def dismiss(dialog) -> None:  # type: ignore[no-untyped-def]
            said.append(dialog.message)
            await dialog.dismiss()

        page.once("dialog", dismiss)
        await rename("Atendimento")
        await playwright_api.expect(form.get_by_role("button", name="Salvar")).to_be_enabled()
        assert said and "loja" in said[0] and "“Suporte”" in said[0], said
        assert "Renomear mesmo assim?" in said[0]
        service = (await http.get(f"/api/omni/services/{made.json()['id']}")).json()
        assert service["name"] == "Suporte"

        # confirmed: renamed, and the page says which bots to publish again
        async def accept(dialog) -> None:  # type: ignore[no-untyped-def]
            said.append(dialog.message)
            await dialog.accept()

        page.on("dialog", accept)
        await form.get_by_role("button", name="Salvar").click()
        await playwright_api.expect(
            page.locator("#services tr[data-service='Atendimento']")
        ).to_be_visible()
        assert any("Publique de novo" in text and "loja" in text for text in said), said

        # another admin edits it meanwhile: this page's save is refused, said in pt-BR
        await page.get_by_role("button", name="Editar Atendimento").click()
        await http.patch(f"/api/omni/services/{made.json()['id']}", json={"abandon_seconds": 90})
        await form.get_by_label("Ramal", exact=True).fill("321")
        await form.get_by_role("button", name="Salvar").click()
        await playwright_api.expect(form.locator(".form-error")).to_contain_text(STALE_PT)
        service = (await http.get(f"/api/omni/services/{made.json()['id']}")).json()
        assert service["extension"] is None and service["abandon_seconds"] == 90
    assert not errors, errors


async def test_creating_a_bot_someone_published_meanwhile_says_it_exists_with_a_link(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    """The Bots page lists none; another admin publishes "loja"; this page's "Criar novo bot"
    with that name publishes nothing over it and says the bot exists, linking to it."""
    errors: list[str] = []
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers()) as http,
    ):
        page = await admin_page(browser, base, "/bots", errors)
        await playwright_api.expect(page.locator("#bots")).to_contain_text("Nenhum bot publicado")
        put = await http.put("/api/bots/loja", content=FLOW, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text

        await page.get_by_role("button", name="Criar novo bot").click()
        form = page.locator("#bot-form")
        await form.get_by_label("Nome do bot").fill("loja")
        await form.get_by_role("button", name="Salvar").click()
        said = form.locator("[data-field='bot'] .field-error")
        await playwright_api.expect(said).to_contain_text("Já existe um bot chamado “loja”.")
        await playwright_api.expect(form).not_to_contain_text(STALE_PT)
        link = said.get_by_role("link", name="Abrir o bot loja")
        await playwright_api.expect(link).to_have_attribute("href", "/bots/loja/atendimento-humano")
        await playwright_api.expect(page.locator("#bots tr[data-bot='loja']")).to_be_visible()
        versions = (await http.get("/api/bots")).json()
        assert [(v["bot"], v["version"]) for v in versions] == [("loja", 1)]  # nothing over it
        await link.click()
        await playwright_api.expect(page).to_have_url(f"{base}/bots/loja/atendimento-humano")
        # the bot's page has read its settings before the server stops (a read in flight then
        # is logged as a refused connection)
        await playwright_api.expect(page.locator("#version-line")).to_have_text(
            "Versão 1 publicada"
        )
        await page.context.close()
    assert not errors, errors
