"""Bots → (bot) → Canais in a real Chromium: the admin configures WhatsApp and Telegram; a
generated token is shown once, secrets never come back, a missing secret is named by field."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, playwright_api, shot

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

FLOW = """
bot: loja
start: oi
blocks:
  oi: {type: end, text: Olá!}
"""


async def test_the_canais_page(time_env, settings, engine, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            put = await http.put(
                "/api/bots/loja",
                content=FLOW,
                headers={**admin_headers(), "Content-Type": "text/yaml"},
            )
            assert put.status_code in (200, 201), put.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/bots/loja/canais")
        await page.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await page.get_by_role("button", name="Entrar").click()
        await expect(page.locator("#wa-state")).to_have_text("Não configurado.")

        # a new connector without its app secret: the field says what is missing
        await page.get_by_label("ID do número de telefone").fill("106540352242922")
        await page.get_by_label("Token de acesso").fill("EAAJB-secret-access-token")
        await page.get_by_role("button", name="Salvar WhatsApp").click()
        secret = page.get_by_label("Chave secreta do aplicativo")
        await expect(secret).to_have_attribute("aria-invalid", "true")

        await secret.fill("0123456789abcdef")
        await page.get_by_role("button", name="Salvar WhatsApp").click()
        generated = page.locator("#generated")
        await expect(generated).to_contain_text("não será exibido de novo")
        token = await page.locator(".generated-token").inner_text()
        assert len(token) >= 32
        await expect(generated).to_contain_text("/api/channels/whatsapp/loja")
        await expect(page.locator("#wa-state")).to_contain_text("Configurado em")
        await expect(page.get_by_label("Token de acesso")).to_have_value("")
        await shot(page, "canais-whatsapp")

        await page.get_by_label("Token do bot (BotFather)").fill("123456:ABC-DEF1234")
        await page.get_by_role("button", name="Salvar Telegram").click()
        await expect(page.locator("#tg-state")).to_contain_text("/api/channels/telegram/loja")

        await page.reload()
        await expect(page.locator("#wa-state")).to_contain_text("Configurado em")
        await expect(page.get_by_label("ID do número de telefone")).to_have_value("106540352242922")
        content = await page.content()
        assert token not in content and "EAAJB-secret-access-token" not in content
        assert await generated.is_hidden()
        await context.close()
    assert console.errors == []
