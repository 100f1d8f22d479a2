"""What a QA pass of the Tela de Atendimento found, in a real Chromium.

- A double click on "Finalizar e voltar ao bot" finished a second conversation the agent never
  looked at: the buttons stayed enabled while the finish was in flight, and once it was done
  the next list opened the first conversation left, under the second click. Now the buttons
  are disabled while it is in flight, and after it the screen opens no other conversation: the
  agent chooses one ("Escolha uma das suas conversas acima…").
- A customer's long unbroken text (a long URL, 'x' × 200) made the page thousands of pixels
  wide and pushed Transferir / Tabulação / Finalizar off the screen; it wraps now (the web chat
  and the supervisor's live transcript, checked too, already wrapped).
- A conversation that left the agent with an empty box said "null" on its note.
- "Finalizar" with a message typed and not sent, and "Encerrar conversa" always, ask first in
  the page's own dialog ("Você tem uma mensagem não enviada. Finalizar mesmo assim?").
- An offer's card says the menu option its customer chose ("Menu: Falar com um especialista"),
  as the queue does, not the bare "1".
- The tab's title counts what the agent has not seen — a customer who wrote while the tab was
  hidden or another conversation was on screen, a customer new in the queue while hidden — as
  "(2) Tela de Atendimento · Transbordo", with the offers, and is reset once seen.
- A reload opens the conversation the agent was on, not the first tab.

Each test plays in a `scene` of tests/test_browser_double_sends.py (the app served live with
the `loja` bot, whose menu's first option is "Falar com um especialista", and Ana, Suporte,
two conversations at a time).
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import browser, shot
from tests.test_browser_agent_drafts import tab_of, take_two
from tests.test_browser_agent_polish import queued
from tests.test_browser_double_sends import OPTION, expect, scene

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

FINISH = re.compile(r"/api/agent/conversations/[^/]+/finish$")
LONG_URL = "https://exemplo.com.br/rastreio/" + "a1b2c3d4e5" * 20
UNBROKEN = "x" * 200
SELECTED = "transbordo.atendimento.selected"
"""Where the agent screen keeps the conversation on screen (the tab's sessionStorage)."""
WIDTHS = """(buttons) => ({
  page: document.scrollingElement.scrollWidth,
  width: innerWidth,
  right: Math.max(0, ...buttons.map((b) => b.getBoundingClientRect().right)),
})"""
HIDE = """(hidden) => {
  const state = hidden ? "hidden" : "visible";
  for (const [name, value] of [["visibilityState", state], ["hidden", hidden]]) {
    Object.defineProperty(document, name, { configurable: true, get: () => value });
  }
  document.dispatchEvent(new Event("visibilitychange"));
}"""
"""The browser tab goes to the background (or comes back), as the page sees it: headless
Chromium keeps every page visible, so its document says so instead."""


async def say(base: str, connector: str, contact: str, text: str) -> None:
    """The contact writes `text` on the channel."""
    auth = {"Authorization": f"Bearer {connector}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as http:
        body = {
            "contact_id": contact,
            "message_id": f"{contact}-{len(text)}-{text[:8]}",
            "text": text,
        }
        said = await http.post("/api/bots/loja/messages", json=body)
    assert said.status_code == 200, said.text


async def status_of(base: str, token: str, conversation: str) -> str:
    """Where the conversation is, as Ana's API says it ("in_service": still hers)."""
    async with httpx.AsyncClient(base_url=base) as http:
        now = await http.get(
            f"/api/agent/conversations/{conversation}?name=false",
            headers={"Authorization": f"Bearer {token}"},
        )
    return str(now.json().get("status") or now.json().get("code"))


async def test_a_double_click_on_finalizar_finishes_that_conversation_only(
    time_env, settings, engine, browser
):
    """Ana has Maria and João, João on screen. A double click on "Finalizar e voltar ao bot"
    sends one finish (the buttons are disabled while it is in flight); after it no conversation
    opens by itself, so a click more (the double click's second, landing late) finishes nothing:
    Maria is still Ana's."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        joao = await queued(s.base, s.connector, "5511987654322", name="João Lima")
        await take_two(agent)
        await tab_of(agent, joao).click()
        await expect(tab_of(agent, joao)).to_have_attribute("aria-pressed", "true")
        await agent.route(FINISH, s.hold)
        finish_bot = agent.get_by_role("button", name="Finalizar e voltar ao bot")
        finish_end = agent.get_by_role("button", name="Encerrar conversa")

        s.hold.arm()
        await finish_bot.dblclick()
        await s.hold.held()
        await expect(finish_bot).to_be_disabled()
        await expect(finish_end).to_be_disabled()
        s.hold.release()
        await expect(agent.locator("#toast")).to_contain_text("Atendimento finalizado")
        tabs = agent.locator("#conv-tabs button")
        await expect(tabs).to_have_count(1)
        await expect(tab_of(agent, maria)).to_have_attribute("aria-pressed", "false")
        await expect(agent.locator("#no-conversation")).to_have_text(
            "Escolha uma das suas conversas acima para continuar o atendimento."
        )
        await expect(finish_bot).to_be_hidden()
        await agent.locator("#finish-bot").dispatch_event("click")  # a click landing late
        await agent.locator("#finish-end").dispatch_event("click")
        assert [body["return_to_bot"] for body in s.hold.seen] == [True]  # João's, once
        assert await status_of(s.base, s.token, maria) == "in_service"
        assert await status_of(s.base, s.token, joao) != "in_service"

        await tab_of(agent, maria).click()  # the agent chooses: it finishes as ever
        await expect(finish_bot).to_be_enabled()
        await finish_bot.click()
        await expect(tabs).to_have_count(0)
        await expect(agent.locator("#no-conversation")).to_contain_text(
            "Nenhuma conversa em atendimento"
        )


async def test_a_long_unbroken_text_wraps_on_every_screen(time_env, settings, engine, browser):
    """Maria sends a long link and 'x' × 200: on Ana's screen (three columns at 1366 px, two at
    1000 px) the page does not scroll sideways and Finalizar / Transferir stay on screen. The
    web chat (a customer who types the same) and the supervisor's live transcript did not break
    (no grid column sized by its content there): kept here so that they stay so."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        for text in (LONG_URL, UNBROKEN):
            await say(s.base, s.connector, "5511987654321", text)
        agent = await s.agent()
        await agent.set_viewport_size({"width": 1366, "height": 850})
        await agent.get_by_role("button", name="Atender próximo").click()
        transcript = agent.locator("#transcript")
        await expect(transcript).to_contain_text(UNBROKEN)
        await expect(transcript).to_contain_text(LONG_URL)
        buttons = [
            await agent.locator(f"#{b}").element_handle()
            for b in ("finish-bot", "finish-end", "transfer-form button[type=submit]")
        ]
        for width in (1366, 1000):
            await agent.set_viewport_size({"width": width, "height": 850})
            drawn = await agent.evaluate(WIDTHS, buttons)
            assert drawn["page"] <= width and drawn["right"] <= width, drawn
        await agent.set_viewport_size({"width": 1366, "height": 850})
        await shot(agent, "13e-tela-de-atendimento-texto-longo")

        customer = await s.context.new_page()
        s.console.watch(customer)
        await customer.set_viewport_size({"width": 420, "height": 800})
        await customer.goto("/chat/loja")
        box = customer.get_by_label("Mensagem", exact=True)
        await box.fill(UNBROKEN)
        await box.press("Enter")
        await expect(customer.locator(".msg.customer", has_text=UNBROKEN)).to_be_visible()
        drawn = await customer.evaluate(WIDTHS, [])
        assert drawn["page"] <= 420, drawn

        supervisor = await s.context.new_page()
        s.console.watch(supervisor)
        await supervisor.set_viewport_size({"width": 1280, "height": 850})
        await supervisor.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r});"
        )
        await supervisor.goto("/supervisor")
        await supervisor.get_by_label("Conversa", exact=True).fill(maria)
        await supervisor.get_by_role("button", name="Acompanhar", exact=True).click()
        await expect(supervisor.locator("#live-transcript")).to_contain_text(UNBROKEN)
        drawn = await supervisor.evaluate(WIDTHS, [])
        assert drawn["page"] <= 1280, drawn


async def test_a_conversation_that_leaves_an_empty_box_says_no_null(
    time_env, settings, engine, browser
):
    """A supervisor passes Maria to Beto while Ana, her box empty, is on Maria's conversation:
    the note says it left her and offers "Fechar", with no draft line and no "null"."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
        # shown by the stream: it lists Maria's conversation (then sees it leave)
        await say(s.base, s.connector, "5511987654321", "alô?")
        await expect(agent.locator("#transcript")).to_contain_text("alô?")
        async with httpx.AsyncClient(base_url=s.base, headers=admin_headers()) as http:
            beto = {"name": "Beto", "services": ["Suporte"]}
            made = await http.post("/api/omni/agents", json=beto)
            assert made.is_success, made.text
            moved = await http.post(
                f"/api/supervisor/conversations/{maria}/reassign",
                json={"agent": made.json()["id"]},
            )
            assert moved.is_success, moved.text
        closed = agent.locator("#conv-closed")
        await expect(closed).to_contain_text("A conversa de Maria Souza saiu do seu atendimento.")
        await expect(closed).to_have_text(
            "A conversa de Maria Souza saiu do seu atendimento.Fechar"
        )
        await expect(closed.locator(".draft")).to_have_count(0)
        # the screen asked where the conversation is now: "not yours" (403), logged by Chromium
        s.console.errors[:] = [e for e in s.console.errors if "403 (Forbidden)" not in e]


async def test_finishing_with_a_message_unsent_and_ending_ask_first(
    time_env, settings, engine, browser
):
    """A text in the box: "Finalizar e voltar ao bot" asks ("Você tem uma mensagem não enviada.
    Finalizar mesmo assim?"); "Voltar à conversa" keeps the conversation and the text;
    "Finalizar mesmo assim" finishes. "Encerrar conversa" asks even with an empty box, and
    then ends it; with the box empty "Finalizar e voltar ao bot" asks nothing."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        joao = await queued(s.base, s.connector, "5511987654322", name="João Lima")
        await take_two(agent)
        await tab_of(agent, maria).click()
        box = agent.get_by_label("Mensagem ao cliente")
        await box.fill("Segue o link de rastreio: https://exemplo.com/r/123")
        dialog = agent.get_by_role("dialog", name="Finalizar o atendimento?")

        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text(
            "Você tem uma mensagem não enviada. Finalizar mesmo assim?"
        )
        await shot(agent, "13f-tela-de-atendimento-finalizar-com-rascunho")
        await dialog.get_by_role("button", name="Voltar à conversa").click()
        await expect(dialog).to_be_hidden()
        await expect(box).to_have_value("Segue o link de rastreio: https://exemplo.com/r/123")
        assert await status_of(s.base, s.token, maria) == "in_service"

        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await dialog.get_by_role("button", name="Finalizar mesmo assim").click()
        await expect(agent.locator("#toast")).to_contain_text("Atendimento finalizado")
        await expect(agent.locator("#conv-tabs button")).to_have_count(1)
        assert await status_of(s.base, s.token, maria) != "in_service"

        await tab_of(agent, joao).click()
        ending = agent.get_by_role("dialog", name="Encerrar a conversa?")
        await agent.get_by_role("button", name="Encerrar conversa").click()
        await expect(ending).to_contain_text(
            "A conversa termina para o cliente, que não volta ao bot."
        )
        await agent.keyboard.press("Escape")  # as "Voltar à conversa"
        await expect(ending).to_be_hidden()
        assert await status_of(s.base, s.token, joao) == "in_service"
        # the keyboard goes on from the button, not from the top of the page
        await expect(agent.get_by_role("button", name="Encerrar conversa")).to_be_focused()
        await agent.get_by_role("button", name="Encerrar conversa").click()
        await ending.get_by_role("button", name="Sim, encerrar").click()
        await expect(agent.locator("#toast")).to_contain_text("Conversa encerrada.")
        assert await status_of(s.base, s.token, joao) != "in_service"

        await queued(s.base, s.connector, "5511987654323", name="Ana Paula")
        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(agent.locator("#conv-tabs button")).to_have_count(1)
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()  # box empty
        await expect(agent.locator("#conv-tabs button")).to_have_count(0)
        await expect(dialog).to_be_hidden()


async def test_an_offer_says_the_menu_option_chosen(time_env, settings, engine, browser):
    """Suporte assigns automatically: Maria chose option 1 by its number, and the ringing card
    says "Menu: Falar com um especialista" (with the number in its title), as the queue does;
    the tab's title counts the offer."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        async with httpx.AsyncClient(base_url=s.base, headers=admin_headers()) as http:
            (suporte,) = (await http.get("/api/omni/services")).json()
            auto = {"assignment": "auto", "offer_seconds": 600}
            changed = await http.patch(f"/api/omni/services/{suporte['id']}", json=auto)
            assert changed.is_success, changed.text
        agent = await s.agent()
        title = await agent.title()
        await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        offer = agent.get_by_role("alertdialog", name="Nova conversa de Suporte")
        await expect(offer.locator(".preview")).to_have_text(f"Menu: {OPTION}")
        await expect(offer.locator(".preview")).to_have_attribute(
            "title", f"O cliente escolheu a opção 1 do menu: {OPTION}"
        )
        await expect(agent).to_have_title(f"(1) Nova conversa — {title}")
        async with httpx.AsyncClient(base_url=s.base) as http:  # the API's list says it too
            listed = await http.get(
                "/api/agent/offers", headers={"Authorization": f"Bearer {s.token}"}
            )
        assert [o["choice"] for o in listed.json()] == [OPTION], listed.text
        await offer.get_by_role("button", name="Aceitar").click()
        await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
        await expect(agent).to_have_title(title)


async def test_the_title_counts_what_the_agent_has_not_seen(time_env, settings, engine, browser):
    """Ana on Maria's conversation, the browser tab in the background: Maria writes → "(1) …";
    João arrives in the queue → "(2) …"; back in front of Ana → the plain title. João taken and
    on screen, Maria writes: her tab is marked "•" and the title says "(1) …" until Ana opens
    her tab."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        title = await agent.title()
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        await agent.get_by_role("button", name="Atender próximo").click()
        transcript = agent.locator("#transcript")
        await expect(transcript).to_contain_text("Vou te transferir")
        await say(s.base, s.connector, "5511987654321", "oi, tem alguém aí?")
        await expect(transcript).to_contain_text("oi, tem alguém aí?")
        await expect(agent).to_have_title(title)  # seen: on screen, in front of Ana

        await agent.evaluate(HIDE, True)
        await say(s.base, s.connector, "5511987654321", "alô?")
        await expect(transcript).to_contain_text("alô?")
        await expect(agent).to_have_title(f"(1) {title}")
        joao = await queued(s.base, s.connector, "5511987654322", name="João Lima")
        await expect(agent.locator(".queue-item")).to_have_count(1)
        await expect(agent).to_have_title(f"(2) {title}")
        await agent.evaluate(HIDE, False)
        await expect(agent).to_have_title(title)

        await agent.get_by_role("button", name="Atender próximo").click()
        await expect(tab_of(agent, joao)).to_have_attribute("aria-pressed", "true")
        await say(s.base, s.connector, "5511987654321", "ainda estou aqui")
        await expect(tab_of(agent, maria)).to_contain_text("•")
        await expect(agent).to_have_title(f"(1) {title}")
        await tab_of(agent, maria).click()
        await expect(transcript).to_contain_text("ainda estou aqui")
        await expect(agent).to_have_title(title)
        await expect(tab_of(agent, maria)).not_to_contain_text("•")


async def test_a_reload_opens_the_conversation_the_agent_was_on(
    time_env, settings, engine, browser
):
    """Ana has two conversations and is on the second tab: a reload opens that one again (its
    draft in the box), not the first; after "Sair" nothing is remembered."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        await queued(s.base, s.connector, "5511987654322", name="João Lima")
        await take_two(agent)
        tabs = agent.locator("#conv-tabs button")
        await agent.reload()  # the tabs in the list's order, the first one opened
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        await expect(tabs).to_have_count(2)
        second = str(await tabs.nth(1).get_attribute("data-conversation"))
        await tabs.nth(1).click()
        await agent.get_by_label("Mensagem ao cliente").fill("Um momento, por favor")

        await agent.reload()
        await expect(agent.locator("#live")).to_have_text("ao vivo")
        await expect(tabs).to_have_count(2)
        await expect(tab_of(agent, second)).to_have_attribute("aria-pressed", "true")
        await expect(agent.get_by_label("Mensagem ao cliente")).to_have_value(
            "Um momento, por favor"
        )
        assert await agent.evaluate(f"sessionStorage.getItem({SELECTED!r})") == second

        await agent.get_by_role("button", name="Sair", exact=True).click()
        await agent.get_by_role("button", name="Sair mesmo assim").click()
        await expect(agent.get_by_label("Token do atendente")).to_be_visible()
        assert await agent.evaluate(f"sessionStorage.getItem({SELECTED!r})") is None
