"""The web chat when the server gives no new session: too many web-chat sessions were issued to
the customer's address (`rate_limit_sessions_per_address`, a 429 `rate_limited` with
Retry-After). The customer reads why in pt-BR and when to try again, the text waits in the box,
and a file chosen meanwhile says the same (not "Sem conexão")."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.attachment_files import png
from tests.conftest import admin_headers
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server, playwright_api

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

FLOW = """
bot: loja
channels: {web: true}
start: oi
blocks:
  oi: {type: question, text: Olá! Como posso ajudar?, save_as: pedido, next: fim}
  fim: {type: end, text: Até logo!}
"""
REFUSED = (
    "Muitas conversas novas foram abertas a partir da sua conexão de internet em pouco tempo. "
    "Tente novamente em 1 minuto."
)
SESSION_429 = re.compile(r"status of 429 .*/web-sessions")


async def test_a_refused_new_session_is_told_in_portuguese(  # type: ignore[no-untyped-def]
    time_env, settings, engine, browser, tmp_path
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    one_a_minute = settings.model_copy(update={"rate_limit_sessions_per_address": "1/minute"})
    async with live_server(time_env, one_a_minute, engine) as base:
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
        await page.goto("/chat/loja")
        await page.get_by_label("Mensagem").fill("oi")
        await page.get_by_role("button", name="Enviar").click()
        await expect(page.locator("#log")).to_contain_text("Como posso ajudar?")

        # a second contact from the same address within the minute: no session for it
        await page.get_by_role("button", name="Nova conversa").click()
        await page.get_by_label("Mensagem").fill("quero a segunda via")
        await page.get_by_role("button", name="Enviar").click()
        await expect(page.locator("#status-line")).to_have_text(REFUSED)
        await expect(page.get_by_label("Mensagem")).to_have_value("quero a segunda via")

        await page.locator("#status-line").evaluate("(line) => { line.textContent = ''; }")
        picture = tmp_path / "boleto.png"
        picture.write_bytes(png())
        await page.locator("#file").set_input_files(str(picture))
        await expect(page.locator("#status-line")).to_have_text(REFUSED)
        await context.close()
    assert [e for e in console.errors if not SESSION_429.search(e)] == []
