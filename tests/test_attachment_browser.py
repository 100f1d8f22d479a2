"""An attachment sent by the customer in the web chat opens on the agent screen (issue 14 item 4),
the agent's PDF reaches the chat as a link, and each side sees the other typing (item 5); in a
real Chromium against the API served by uvicorn."""

from __future__ import annotations

import re

import pytest

from tests.attachment_files import PDF, png
from tests.test_browser import Console, browser, live_server, shot, signed_in_agent  # noqa: F401 (fixture)
from tests.test_desk_browser import TIMEOUT_MS, setup

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio


async def test_a_customer_picture_opens_on_the_agent_screen(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        agent_token, _ = await setup(base, engine)
        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 900}, base_url=base
        )
        customer = await context.new_page()
        console.watch(customer)
        await customer.goto("/chat/loja")
        box = customer.get_by_label("Mensagem", exact=True)
        await box.fill("oi")
        await box.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="CPF")).to_be_visible()
        await box.fill("123")
        await box.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()

        # the customer attaches a picture; a refused file says why in pt-BR
        picker = customer.locator("#file")
        await picker.set_input_files(
            files=[{"name": "virus.pdf", "mimeType": "application/pdf", "buffer": b"MZ" * 40}]
        )
        await expect(customer.locator("#status-line")).to_contain_text("Tipo de arquivo não aceito")
        await picker.set_input_files(
            files=[{"name": "foto.png", "mimeType": "image/png", "buffer": png(16, 16)}]
        )
        mine = customer.locator(".msg.customer .attachment img[alt='foto.png']")
        await expect(mine).to_be_visible()

        # the agent picks the conversation up and sees the picture inline
        agent = await signed_in_agent(context, console, agent_token)
        await agent.get_by_role("button", name="Atender próximo").click()
        picture = agent.locator("#transcript .msg.customer .attachment img[alt='foto.png']")
        await expect(picture).to_be_visible()
        width = await picture.evaluate("img => img.naturalWidth")
        assert width == 16
        await shot(agent, "22-anexo-na-tela-de-atendimento")

        # typing, both ways
        await agent.get_by_label("Mensagem ao cliente").press_sequentially("Ol")
        await expect(customer.locator("#typing-line")).to_have_text("Atendente digitando…")
        # the customer types on (a signal at most every 3 s): the agent's screen shows it once
        # its stream follows the conversation just taken (a queue read after the pickup)
        for attempt in range(4):
            await box.press_sequentially("obr")
            try:
                await expect(agent.locator("#typing-line")).to_have_text(
                    "Cliente digitando…", timeout=4000
                )
                break
            except AssertionError:
                if attempt == 3:
                    raise

        # the agent sends a PDF back: a link in the chat
        await agent.locator("#reply-file").set_input_files(
            files=[{"name": "boleto.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        link = customer.locator(".msg.agent .attachment a", has_text="boleto.pdf")
        await expect(link).to_be_visible()
        await expect(link).to_have_attribute("href", re.compile("^blob:"))
        await shot(customer, "23-anexo-no-web-chat")
        await context.close()
    refused = [e for e in console.errors if "status of 415" not in e]  # the refused file
    assert refused == [], console.errors
