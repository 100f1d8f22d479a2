"""The message box of the Tela de Atendimento holds one draft per conversation, and a customer
who leaves is told to the agent, in a real Chromium.

- A text typed in one conversation and not sent stays with it: another tab's box shows that
  conversation's own draft (it used to keep the text, and Enter sent it to the other
  customer), going back shows it again, and a reload keeps both (sessionStorage, per
  conversation id; a draft sent is gone).
- A customer who leaves (the web chat's "Nova conversa", a channel's `leave`) no longer makes
  the conversation vanish: its tab stays, marked "encerrada", the transcript readable, and the
  screen says who left ("Maria Souza saiu da conversa.": on screen, or in a toast when another
  tab is open). Its draft goes with it, shown as text to copy, never in a box that sends to
  someone else (it used to land in the next conversation's box), and is forgotten by the page;
  "Fechar" takes the tab away.
- On a phone (360 × 800, and 390 with a long agent name) the header fits: "Sair" and the
  status switch's "Offline" are inside the screen, and the page does not scroll sideways.

Each test plays in a `scene` of tests/test_browser_double_sends.py (the app served live with
the `loja` bot, whose menu's first option is "Falar com um especialista").
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import admin_headers
from tests.test_browser import browser, shot, signed_in_agent
from tests.test_browser_agent_polish import queued
from tests.test_browser_double_sends import OPTION, agent_post, agent_texts, expect, scene

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

CPF = "Seu CPF 123.456.789-00 foi confirmado"
DRAFTS = "Object.keys(sessionStorage).filter((k) => k.startsWith('transbordo.atendimento.draft.'))"
"""The drafts the agent screen keeps in the tab's sessionStorage."""


def tab_of(agent, conversation: str):  # type: ignore[no-untyped-def]
    return agent.locator(f"#conv-tabs button[data-conversation='{conversation}']")


async def take_two(agent) -> None:  # type: ignore[no-untyped-def]
    """Ana takes the two waiting conversations, one "Atender próximo" at a time."""
    tabs = agent.locator("#conv-tabs button")
    for count in (1, 2):
        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(tabs).to_have_count(count)
        # the pickup's answer opens it: a tab may show (from the agent stream) before then
        await expect(tabs.nth(count - 1)).to_have_attribute("aria-pressed", "true")


async def test_a_draft_stays_with_the_conversation_it_was_typed_in(
    time_env, settings, engine, browser
):
    """Ana types a CPF to Maria and goes to João's tab without sending: João's box is empty,
    and Enter there sends nothing; João's own draft and Maria's come back as she goes from one
    to the other, and after a reload. João's, sent, reaches João alone and is no draft any
    more; Maria got nothing."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        joao = await queued(s.base, s.connector, "5511987654322", name="João Lima")
        await take_two(agent)
        box = agent.get_by_label("Mensagem ao cliente")

        await tab_of(agent, maria).click()
        await box.fill(CPF)
        await tab_of(agent, joao).click()
        await expect(tab_of(agent, joao)).to_have_attribute("aria-pressed", "true")
        await expect(box).to_have_value("")  # not Maria's text
        await box.press("Enter")  # nothing to send
        await box.fill("Bom dia, João")
        await tab_of(agent, maria).click()
        await expect(box).to_have_value(CPF)

        await agent.reload()
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        await tab_of(agent, joao).click()
        await expect(box).to_have_value("Bom dia, João")
        await tab_of(agent, maria).click()
        await expect(box).to_have_value(CPF)
        await tab_of(agent, joao).click()
        await expect(box).to_have_value("Bom dia, João")
        async with agent.expect_response(agent_post) as sent:
            await box.press("Enter")
        assert (await sent.value).ok
        await expect(box).to_have_value("")

        await agent.reload()
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        await tab_of(agent, joao).click()
        await expect(box).to_have_value("")  # sent: no draft
        await tab_of(agent, maria).click()
        await expect(box).to_have_value(CPF)
        assert await agent_texts(s.base, joao) == ["Bom dia, João"]
        assert await agent_texts(s.base, maria) == []


async def test_a_customer_who_leaves_takes_the_draft_along_and_is_told(
    time_env, settings, engine, browser
):
    """Maria, on the web chat, waits; Ana takes her and João, and types a CPF to Maria. Maria
    clicks "Nova conversa": her tab stays, marked "encerrada", the screen says she left and
    shows the draft as text; there is no box, so Enter sends nothing; João's box is empty.
    João leaves (his channel's `leave`) while Maria's tab is on screen: a toast names him, his
    tab is marked, and his draft shows in his tab, not in Maria's. "Fechar" takes each tab
    away; nobody got a message, and the page keeps no draft."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        customer, text, _ = await s.chat("loja")
        await customer.get_by_label("Seu nome").fill("Maria Souza")
        await text.fill("oi")
        await text.press("Enter")
        await customer.get_by_role("button", name=OPTION).click()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        joao = await queued(s.base, s.connector, "5511987654322", name="João Lima")
        agent = await s.agent()
        await take_two(agent)
        maria_tab = agent.locator("#conv-tabs button", has_text="Maria Souza")
        maria = str(await maria_tab.get_attribute("data-conversation"))
        box = agent.get_by_label("Mensagem ao cliente")
        closed = agent.locator("#conv-closed")

        await tab_of(agent, joao).click()
        await box.fill("João, um momento")
        await maria_tab.click()
        await box.fill(CPF)
        await customer.get_by_role("button", name="Nova conversa").click()

        await expect(maria_tab).to_contain_text("encerrada")
        await expect(maria_tab).to_have_attribute("aria-pressed", "true")  # still on screen
        await expect(closed).to_contain_text("Maria Souza saiu da conversa.")
        await expect(closed).to_contain_text(f"Rascunho não enviado: “{CPF}”")
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
        await expect(box).to_be_hidden()
        await shot(agent, "13c-tela-de-atendimento-cliente-saiu")
        await agent.keyboard.press("Enter")
        assert await agent.evaluate(DRAFTS) == [f"transbordo.atendimento.draft.{joao}"]

        await tab_of(agent, joao).click()
        await expect(box).to_have_value("João, um momento")
        await maria_tab.click()
        async with httpx.AsyncClient(base_url=s.base) as http:
            auth = {"Authorization": f"Bearer {s.connector}"}
            left = await http.post(f"/api/conversations/{joao}/leave", headers=auth)
            assert left.is_success, left.text
        await expect(agent.locator("#toast")).to_have_text("João Lima saiu da conversa.")
        await expect(tab_of(agent, joao)).to_contain_text("encerrada")
        await expect(closed).to_contain_text("Maria Souza saiu da conversa.")
        await expect(closed).not_to_contain_text("João")
        await tab_of(agent, joao).click()
        await expect(closed).to_contain_text("João Lima saiu da conversa.")
        await expect(closed).to_contain_text("Rascunho não enviado: “João, um momento”")

        for name in ("João Lima", "Maria Souza"):
            await expect(closed).to_contain_text(f"{name} saiu da conversa.")
            await closed.get_by_role("button", name="Fechar").click()
        await expect(agent.locator("#conv-tabs button")).to_have_count(0)
        await expect(agent.locator("#no-conversation")).to_be_visible()
        assert await agent.evaluate(DRAFTS) == []
        assert await agent_texts(s.base, maria) == []
        assert await agent_texts(s.base, joao) == []


FITS = """([width, sair, offline]) => ({
  page: document.scrollingElement.scrollWidth,
  sair: sair.getBoundingClientRect().right,
  offline: offline.getBoundingClientRect().right,
  width,
})"""


async def fits(page, width: int) -> None:  # type: ignore[no-untyped-def]
    """The page does not scroll sideways; "Sair" and "Offline" are inside the screen."""
    sair = page.get_by_role("button", name="Sair", exact=True)
    offline = page.locator(".segmented label", has_text="Offline")
    await expect(sair).to_be_visible()
    drawn = await page.evaluate(
        FITS, [width, await sair.element_handle(), await offline.element_handle()]
    )
    assert drawn["page"] <= width, drawn
    assert drawn["sair"] <= width and drawn["offline"] <= width, drawn


async def test_the_header_fits_a_phone(time_env, settings, engine, browser):
    """Ana at 360 × 800, with a conversation open; an agent with a long name at 390 × 800."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        long_name = "Maria Aparecida dos Santos Oliveira Ferreira"
        async with httpx.AsyncClient(base_url=s.base, headers=admin_headers()) as http:
            made = await http.post(
                "/api/omni/agents", json={"name": long_name, "services": ["Suporte"]}
            )
            assert made.is_success, made.text
        await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        for (width, token), name in zip(
            ((360, s.token), (390, made.json()["token"])), ("Ana", long_name), strict=True
        ):
            phone = await browser.new_context(
                locale="pt-BR", base_url=s.base, viewport={"width": width, "height": 800}
            )
            try:
                agent = await signed_in_agent(phone, s.console, token)
                await expect(agent.locator("#live")).to_have_text("ao vivo")
                await expect(agent.locator("#session")).to_contain_text(name)
                await expect(agent.locator("[name=status][value=available]")).to_be_checked()
                await fits(agent, width)
                if name == "Ana":
                    await agent.get_by_role("button", name="Atender próximo").click()
                    await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
                    await fits(agent, width)
                    await shot(agent, "13d-tela-de-atendimento-celular")
            finally:
                await phone.close()
