"""Canais in a real Chromium: the admin sets WhatsApp and Telegram up, comes back later and
saves one form with its secret fields blank; both platforms' webhooks are still accepted with
the tokens the page showed once."""

from __future__ import annotations

import json

import httpx
import pytest

from tests import channel_payloads as p
from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, playwright_api
from tests.test_canais_settings import (
    APP_SECRET,
    BOT_TOKEN,
    _telegram_accepts,
    _whatsapp_accepts,
)

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

FLOW = """
bot: loja
start: oi
blocks:
  oi: {type: end, text: Olá!}
"""


async def _webhooks_accepted(http: httpx.AsyncClient, verify_token: str, secret: str) -> None:
    await _whatsapp_accepts(http, verify_token)
    await _telegram_accepts(http, secret)


async def test_saving_one_form_keeps_the_other_channel(time_env, settings, engine, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        put = await http.put(
            "/api/bots/loja",
            content=FLOW,
            headers={**admin_headers(), "Content-Type": "text/yaml"},
        )
        assert put.status_code in (200, 201), put.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        page = await context.new_page()
        console.watch(page)
        sent: list[dict[str, str]] = []
        page.on(
            "request",
            lambda r: sent.append(json.loads(r.post_data)) if r.method == "PUT" else None,
        )
        await page.goto("/bots/loja/canais")
        await page.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await page.get_by_role("button", name="Entrar").click()
        await expect(page.locator("#wa-state")).to_have_text("Não configurado.")
        # no password manager fills a saved login into a channel's secret (Chrome ignores
        # `off` on password fields; a filled field would replace the stored secret on save)
        secrets = page.locator("input[type=password].secret")
        assert await secrets.count() == 5
        for field in await secrets.all():
            assert await field.get_attribute("autocomplete") == "new-password"

        await page.get_by_label("Token do bot (BotFather)").fill(BOT_TOKEN)
        await page.get_by_role("button", name="Salvar Telegram").click()
        await expect(page.locator("#tg-state")).to_contain_text("Configurado em")
        secret = await page.locator(".generated-token").inner_text()

        await page.get_by_label("ID do número de telefone").fill(p.PHONE_NUMBER_ID)
        await page.get_by_label("Token de acesso").fill("EAA-first-access-token")
        await page.get_by_label("Chave secreta do aplicativo").fill(APP_SECRET)
        await page.get_by_role("button", name="Salvar WhatsApp").click()
        await expect(page.locator("#wa-state")).to_contain_text("Configurado em")
        verify_token = await page.locator(".generated-token").inner_text()
        await _webhooks_accepted(http, verify_token, secret)

        # Later: only the template changes; the secret fields stay blank.
        await page.reload()
        await expect(page.locator("#wa-state")).to_contain_text("Configurado em")
        await page.get_by_label("Modelo para a janela de 24 horas fechada").fill("retomar")
        await page.get_by_role("button", name="Salvar WhatsApp").click()
        await expect(page.locator("#toast")).to_have_text("WhatsApp salvo.")
        await _webhooks_accepted(http, verify_token, secret)

        # And the Telegram form saved as it is, both fields blank.
        await page.get_by_role("button", name="Salvar Telegram").click()
        await expect(page.locator("#toast")).to_have_text("Telegram salvo.")
        await _webhooks_accepted(http, verify_token, secret)
        await expect(page.locator("#wa-state")).to_contain_text(
            "token de acesso, chave secreta, token de verificação"
        )
        await expect(page.locator("#tg-state")).to_contain_text("token do bot, token secreto")
        # the page sends a blank secret field as absent (kept), never as an empty value
        assert sent[2:] == [
            {
                "phone_number_id": p.PHONE_NUMBER_ID,
                "template_name": "retomar",
                "template_language": "pt_BR",
            },
            {},
        ]
        await context.close()
    assert console.errors == []
