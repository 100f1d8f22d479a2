"""The web chat's message box, its menus in human service and the agent's typing, in a real
Chromium against the API served by uvicorn (an exploratory QA's findings).

The box was a one-line input cut at 4,000 characters while the server takes 4,096: a pasted
5,000 went out as 4,000 without a word, its line breaks lost. A menu typed past ("1" instead of
a click) kept its buttons active during human service, so "Encerrar" reached the agent as a
word. "Atendente digitando…" stayed under the agent's message just delivered for up to 4 s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.test_browser_double_sends import browser, expect, scene

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

LIMIT = "A mensagem passa do limite de 4096 caracteres."
PASTED = ("x" * 99 + "\n") * 50
"""5,000 characters in 50 lines, as pasted from a document."""


async def test_the_box_takes_the_servers_limit_and_keeps_line_breaks(
    time_env, settings, engine, browser
):
    async with scene(time_env, settings, engine, browser) as s:
        customer, box, _ = await s.chat("loja")
        limit = customer.locator("#text-limit")

        # Shift+Enter breaks the line (the box grows with it), Enter sends both lines
        await box.press_sequentially("linha 1")
        one_line = await box.evaluate("b => b.offsetHeight")
        await box.press("Shift+Enter")
        await box.press_sequentially("linha 2")
        assert await box.evaluate("b => b.offsetHeight") > one_line
        await box.press("Enter")
        mine = customer.locator(".msg.customer[data-seq]")
        await expect(mine).to_have_count(1)
        assert await mine.evaluate("m => m.textContent") == "linha 1\nlinha 2"
        assert [body["text"] for body in s.hold.seen] == ["linha 1\nlinha 2"]
        await expect(box).to_have_value("")

        # 5,000 characters pasted: said before sending, nothing sent, the text kept whole
        await box.fill(PASTED)
        await expect(limit).to_have_text(LIMIT)
        await expect(box).to_have_attribute("aria-invalid", "true")
        await box.press("Enter")
        await customer.get_by_role("button", name="Enviar").click()
        await expect(limit).to_have_text(LIMIT)
        await expect(box).to_have_value(PASTED)
        assert len(s.hold.seen) == 1

        # shortened to the server's limit, it goes whole, with its line breaks
        await box.fill(PASTED[:4096])
        await expect(limit).to_have_text("")
        await box.press("Enter")
        await expect(mine).to_have_count(2)
        assert await mine.last.evaluate("m => m.textContent") == PASTED[:4096]
        assert s.hold.seen[-1]["text"] == PASTED[:4096]


async def test_the_bots_menu_takes_no_click_once_a_person_has_the_conversation(
    time_env, settings, engine, browser
):
    async with scene(time_env, settings, engine, browser) as s:
        customer, box, _ = await s.chat("loja")
        await box.fill("oi")
        await box.press("Enter")
        options = customer.locator(".msg.menu").last.get_by_role("button")
        await expect(options).to_have_count(2)
        for option in await options.all():
            await expect(option).to_be_enabled()  # the bot waits on it

        # the option typed instead of clicked: the customer waits for a person
        await box.fill("1")
        await box.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        for option in await options.all():
            await expect(option).to_be_disabled()

        agent = await s.agent()
        await agent.get_by_role("button", name="Atender próximo").click()
        await agent.get_by_label("Mensagem ao cliente").fill("Olá, sou a Ana.")
        await agent.get_by_label("Mensagem ao cliente").press("Enter")
        await expect(customer.locator(".msg.agent", has_text="Olá, sou a Ana.")).to_be_visible()
        for option in await options.all():
            await expect(option).to_be_disabled()

        # a reload shows the whole transcript: the menu is still done
        await customer.reload()
        await expect(customer.locator(".msg.agent", has_text="Olá, sou a Ana.")).to_be_visible()
        await expect(options).to_have_count(2)
        for option in await options.all():
            await expect(option).to_be_disabled()
        assert [body["text"] for body in s.hold.seen] == ["oi", "1"]  # no option clicked


async def test_the_agents_message_ends_the_typing_indicator(time_env, settings, engine, browser):
    """The customer's clock stands still (Playwright's clock): the indicator's own 4 s never
    pass, so only the agent's message can clear it."""
    async with scene(time_env, settings, engine, browser) as s:
        chat = await browser.new_context(locale="pt-BR", base_url=s.base)
        await chat.clock.install()
        customer = await chat.new_page()
        s.console.watch(customer)
        await customer.goto("/chat/loja")
        box = customer.get_by_label("Mensagem", exact=True)
        for text in ("oi", "1"):
            await box.fill(text)
            await box.press("Enter")
            await expect(customer.locator(".msg.customer", has_text=text)).to_have_count(1)
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        agent = await s.agent()
        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")

        now = await customer.evaluate("Date.now()")
        await chat.clock.pause_at(datetime.fromtimestamp(now / 1000, UTC) + timedelta(seconds=1))
        reply = agent.get_by_label("Mensagem ao cliente")
        await reply.press_sequentially("Olá")
        typing = customer.locator("#typing-line")
        await expect(typing).to_have_text("Atendente digitando…")
        await reply.press("Enter")
        await expect(customer.locator(".msg.agent", has_text="Olá")).to_be_visible()
        await expect(typing).to_have_text("")
        await chat.close()


async def test_two_quick_messages_reach_the_server_in_the_order_typed(
    time_env, settings, engine, browser
):
    """The first message (which starts the conversation) is slow on its way; the customer types
    the second meanwhile: it leaves only after the first, so the server reads "oi" and then the
    menu's "1", never the other way round (the CI once saw "1" start the chat and "oi" refused
    as an invalid option)."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, box, _ = await s.chat("loja")
        await s.send_held(box, "oi")
        await box.fill("1")
        await box.press("Enter")
        await expect(customer.locator(".msg.customer", has_text="1")).to_have_count(1)
        s.hold.release()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(customer.locator(".msg.bot", has_text="Opção inválida")).to_have_count(0)
        assert [body["text"] for body in s.hold.seen] == ["oi", "1"]


async def test_a_message_waiting_in_line_is_not_the_new_chats_after_nova_conversa(
    time_env, settings, engine, browser
):
    """ "1" waits behind the first message; the customer starts a new chat meanwhile: "1" never
    goes out (as the new contact's first words), and the new chat's first message waits for
    nothing of the old one."""
    async with scene(time_env, settings, engine, browser) as s:
        customer, box, _ = await s.chat("loja")
        await s.send_held(box, "oi")
        await box.fill("1")
        await box.press("Enter")
        await customer.get_by_role("button", name="Nova conversa").click()
        s.hold.release()
        await box.fill("olá")
        await box.press("Enter")
        await expect(customer.locator(".msg.bot", has_text="Como posso ajudar?")).to_be_visible()
        assert [body["text"] for body in s.hold.seen] == ["oi", "olá"]
