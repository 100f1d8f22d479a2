"""What agents used to other desks take for granted, in a real Chromium on the Tela de
Atendimento.

- A reply over the length limit is said in pt-BR, with the limit and the length typed, as the
  agent types and when it presses Enter (nothing is sent, the text stays in the box), and when
  the server refuses it (a page whose limit is out of date): it used to say only "Há campos
  inválidos.".
- "Sair" with conversations in service asks first, naming how many and what becomes of them
  (they stay with the agent: presence and "Offline" requeue nothing; only a service that puts
  unanswered conversations back in its queue may, `agent_silence_action: requeue`, and the
  dialog says so); "Continuar atendendo" keeps the agent in; "Sair mesmo assim" sets it
  offline, and signed in again it finds them.
- A waiting customer who chose a menu option by its number shows the option's label in the
  queue, not the bare digit; a conversation's tab names the contact when the contact gave a
  name, else the end of its contact id ("…4322", as the supervisor's open conversations say it).
- The name's lookup (a Temporal Query: up to 2 s each when no worker answers) does not hold the
  transcripts back: held by a Playwright route until the test lets it go, both transcripts
  show meanwhile, each tab named by the end of the contact id, which a failed lookup leaves.
- A long name, or one written right to left with bidi controls, stays inside its tab: one line
  like the others, the words after it read as written, the whole name in the tab's title.

Each test plays in a `scene` of tests/test_browser_double_sends.py (the app served live with
the `loja` bot, whose menu's first option is "Falar com um especialista").
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.test_browser import TIMEOUT_MS, browser, signed_in_agent
from tests.test_browser_double_sends import OPTION, agent_post, agent_texts, expect, scene

__all__ = ["browser"]

pytestmark = pytest.mark.asyncio

LIMIT = 4096
"""The longest text a message may have (workflows/contracts.py MAX_TEXT_LENGTH)."""


def too_long(count: int) -> str:
    return f"A mensagem passa do limite de {LIMIT} caracteres (você escreveu {count})."


async def queued(base: str, connector: str, contact: str, name: str | None = None) -> str:
    """The contact (named `name`, if given) says "oi", then "1" (the menu's "Falar com um
    especialista") and waits in Suporte's queue: the conversation's id."""
    auth = {"Authorization": f"Bearer {connector}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as http:
        for i, text in enumerate(["oi", "1"]):
            body = {"contact_id": contact, "message_id": f"{contact}-{i}", "text": text}
            if name:
                body["contact"] = {"name": name}
            said = await http.post("/api/bots/loja/messages", json=body)
            assert said.status_code == 200, said.text
        assert said.json()["status"] == "waiting", said.text
        return str(said.json()["conversation_id"])


async def test_a_reply_over_the_limit_is_said_in_ptbr_and_kept_in_the_box(
    time_env, settings, engine, browser
):
    """Typed over the limit: the composer says so and Enter sends nothing; a page whose limit is
    out of date sends it and the server's refusal says the same, the text still in the box;
    cut to the limit, it reaches the customer."""
    async with scene(time_env, settings, engine, browser) as s:
        agent, conversation = await s.picked_up()
        box = agent.get_by_label("Mensagem ao cliente")
        count = agent.locator("#reply-count")
        error = agent.locator("#conv-error")

        await box.fill("😀" * LIMIT)  # one character each, as the server counts
        await expect(count).to_have_text(f"{LIMIT} de {LIMIT} caracteres")
        await box.fill("a" * 5012)
        await expect(count).to_have_text(too_long(5012))
        await expect(box).to_have_attribute("aria-invalid", "true")
        await box.press("Enter")
        await expect(count).to_have_text(too_long(5012))
        await expect(box).to_have_value("a" * 5012)
        assert s.hold.seen == []  # nothing went to the server

        # a page loaded before the limit was lowered: the server refuses, said the same way
        await agent.locator("#reply-text").evaluate("box => { box.dataset.max = '10000'; }")
        await box.fill("b" * 5012)
        await expect(count).to_have_text("")
        async with agent.expect_response(agent_post) as refused:
            await box.press("Enter")
        assert (await refused.value).status == 422
        await expect(error).to_have_text(too_long(5012))
        await expect(box).to_have_value("b" * 5012)
        await expect(count).to_have_text(too_long(5012))  # the server's limit, learned

        await box.fill("b" * LIMIT)
        await expect(count).to_have_text(f"{LIMIT} de {LIMIT} caracteres")
        async with agent.expect_response(agent_post) as sent:
            await box.press("Enter")
        assert (await sent.value).ok
        await expect(box).to_have_value("")
        await expect(count).to_have_text("")
        await expect(error).to_have_text("")
        assert await agent_texts(s.base, conversation) == ["b" * LIMIT]


async def test_sair_with_conversations_in_service_asks_first(time_env, settings, engine, browser):
    """Two conversations in service: "Sair" names them and says they stay with the agent
    (unless the service puts unanswered conversations back in its queue);
    "Continuar atendendo" keeps the agent in and available; "Sair mesmo assim" signs out and
    sets it offline; signed in again, both are still its own. One: said in the singular."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        for contact in ("5511", "5522"):
            await queued(s.base, s.connector, contact)
        tabs = agent.locator("#conv-tabs button")
        for count in (1, 2):
            await agent.get_by_role("button", name="Atender próximo").click()
            await expect(tabs).to_have_count(count)
            # the pickup's answer opens it: a tab may show (from the agent stream) before then
            await expect(tabs.nth(count - 1)).to_have_attribute("aria-pressed", "true")

        dialog = agent.get_by_role("dialog", name="Sair da Tela de Atendimento?")
        await agent.get_by_role("button", name="Sair", exact=True).click()
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text(
            "Você tem 2 conversas em atendimento. Ao sair, você fica Offline e deixa de receber"
            " conversas novas. Estas 2 conversas não voltam para a fila: continuam com você (a"
            " não ser que o serviço devolva à fila as conversas sem resposta) e os clientes"
            " seguem esperando. Volte para finalizá-las ou peça a um supervisor que as reatribua."
        )
        await dialog.get_by_role("button", name="Continuar atendendo").click()
        await expect(dialog).to_be_hidden()
        await expect(tabs).to_have_count(2)
        assert await agent_status(s.base, s.token) == "available"

        await agent.get_by_role("button", name="Sair", exact=True).click()
        await dialog.get_by_role("button", name="Sair mesmo assim").click()
        await expect(agent.get_by_label("Token do atendente")).to_be_visible()
        assert await agent_status(s.base, s.token) == "offline"

        again = await signed_in_agent(s.context, s.console, s.token, available=False)
        tabs = again.locator("#conv-tabs button")
        await expect(tabs).to_have_count(2)  # still hers, as the question said
        await tabs.nth(0).click()
        await again.get_by_role("button", name="Encerrar conversa").click()
        ending = again.get_by_role("dialog", name="Encerrar a conversa?")
        await ending.get_by_role("button", name="Sim, encerrar").click()
        await expect(tabs).to_have_count(1)
        await again.get_by_role("button", name="Sair", exact=True).click()
        dialog = again.get_by_role("dialog", name="Sair da Tela de Atendimento?")
        await expect(dialog).to_contain_text(
            "Você tem 1 conversa em atendimento. Ao sair, você fica Offline e deixa de receber"
            " conversas novas. Esta conversa não volta para a fila: continua com você (a não ser"
            " que o serviço devolva à fila as conversas sem resposta) e o cliente segue"
            " esperando. Volte para finalizá-la ou peça a um supervisor que a reatribua."
        )


async def agent_status(base: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        me = await http.get("/api/agent/me", headers={"Authorization": f"Bearer {token}"})
    assert me.is_success, me.text
    return str(me.json()["status"])


async def test_the_queue_shows_the_menu_choice_and_tabs_name_the_contact(
    time_env, settings, engine, browser
):
    """Maria (named by the channel) and an unnamed contact chose option 1 by its number: the
    queue shows the option's label; their tabs and the conversation's line show Maria's name
    and the end of the other's contact id."""
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        maria = await queued(s.base, s.connector, "5511", name="Maria Souza")
        other = await queued(s.base, s.connector, "5511987654322")
        items = agent.locator(".queue-item")
        await expect(items).to_have_count(2)
        for item in await items.all():
            await expect(item.locator(".preview")).to_have_text(f"Menu: {OPTION}")
            await expect(item.locator(".preview")).to_have_attribute(
                "title", f"O cliente escolheu a opção 1 do menu: {OPTION}"
            )

        tabs = agent.locator("#conv-tabs button")
        for count in (1, 2):
            await agent.get_by_role("button", name="Atender próximo").click()
            await expect(tabs).to_have_count(count)
            # the pickup's answer opens it: a tab may show (from the agent stream) before then
            await expect(tabs.nth(count - 1)).to_have_attribute("aria-pressed", "true")
        names = {maria: "Maria Souza", other: "…4322"}  # as the supervisor's list says it
        for tab in await tabs.all():
            conversation = str(await tab.get_attribute("data-conversation"))
            await expect(tab).to_contain_text(f"{names[conversation]} · Suporte")
            await tab.click()
            await expect(agent.locator("#conv-info")).to_contain_text(names[conversation])


NAME_LOOKUP = re.compile(r"/api/agent/conversations/[^/?]+$")
"""The screen's lookup of a conversation with its contact's name (not `?name=false`, which SQL
answers at once, nor the conversation's messages)."""


class Lookups:
    """A route handler that holds every request it gets until the test answers it (it goes on
    to the server) or fails it (no connection): never by a timer."""

    def __init__(self) -> None:
        self.held: dict[str, Any] = {}  # conversation id → Playwright's Route
        self._came = asyncio.Event()

    async def __call__(self, route) -> None:  # type: ignore[no-untyped-def]
        self.held[route.request.url.rsplit("/", 1)[-1]] = route
        self._came.set()

    async def waiting(self, count: int) -> None:
        while len(self.held) < count:
            self._came.clear()
            await asyncio.wait_for(self._came.wait(), TIMEOUT_MS / 1000)

    async def answer(self, conversation: str) -> None:
        await self.held.pop(conversation).continue_()

    async def fail(self, conversation: str) -> None:
        await self.held.pop(conversation).abort()


async def test_a_slow_name_lookup_does_not_hold_back_the_transcripts(
    time_env, settings, engine, browser
):
    """Ana signs in with two conversations in service (taken before: the stream lists them),
    their names' lookups held: both transcripts show, and both tabs name the contact by the end
    of its id; a lookup answered names Maria, one that fails leaves João's tab as it was. (The
    screen used to wait for each lookup before the conversation's transcript, one after the
    other: with no worker answering, 2 s per conversation.)"""
    async with scene(time_env, settings, engine, browser) as s:
        maria = await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        joao = await queued(s.base, s.connector, "5511987654322", name="João Lima")
        auth = {"Authorization": f"Bearer {s.token}"}
        async with httpx.AsyncClient(base_url=s.base, headers=auth) as http:
            available = await http.post("/api/agent/status", json={"status": "available"})
            assert available.is_success, available.text
            for _ in (maria, joao):
                taken = await http.post("/api/agent/next")
                assert taken.is_success, taken.text
        lookups = Lookups()
        await s.context.route(NAME_LOOKUP, lookups)
        agent = await s.agent()

        def tab(conversation: str):  # type: ignore[no-untyped-def]
            return agent.locator(f"#conv-tabs button[data-conversation='{conversation}']")

        for conversation, tail in ((maria, "…4321"), (joao, "…4322")):
            await expect(tab(conversation)).to_contain_text(f"{tail} · Suporte")
            await tab(conversation).click()
            await expect(agent.locator("#transcript")).to_contain_text("Vou te transferir")
            await expect(agent.locator("#conv-info")).to_contain_text(tail)
        await lookups.waiting(2)  # both asked, neither answered: the transcripts came first

        await lookups.fail(joao)
        await lookups.answer(maria)
        await expect(tab(maria)).to_contain_text("Maria Souza · Suporte")
        await expect(tab(joao)).to_contain_text("…4322 · Suporte")
        await expect(agent.locator("#conv-info")).to_contain_text("…4322")


READS_LEFT_TO_RIGHT = """(node) => {
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const at = text.data.indexOf("Suporte");
    if (at < 0) continue;
    const left = (i) => {
      const range = document.createRange();
      range.setStart(text, at + i);
      range.setEnd(text, at + i + 1);
      return range.getBoundingClientRect().left;
    };
    return left(0) < left(1) && left(1) < left(6);
  }
  return null;
}"""
"""Whether "Suporte" in `node` is drawn as written, its first letter leftmost."""
TABS = f"""(strip, [long, short]) => {{
  const reads = {READS_LEFT_TO_RIGHT};
  const tab = (id) => strip.querySelector(`button[data-conversation="${{id}}"]`);
  return {{
    reads: reads(tab(long)),
    heights: [tab(long).getBoundingClientRect().height, tab(short).getBoundingClientRect().height],
    overflows: strip.scrollWidth > strip.clientWidth,
  }};
}}"""
"""The tab strip as drawn, measured at one moment (the tabs are drawn anew at every change):
whether the long tab's service reads as written, both tabs' heights, whether the strip overflows."""


async def test_a_long_or_right_to_left_name_stays_inside_its_tab(
    time_env, settings, engine, browser
):
    """A name of 190 characters that mixes right-to-left letters in (override characters are
    cleaned where names enter: tests/test_contact_names.py): its tab is one line like the
    other's, the service after it reads as written, in the tab and in the line over the
    transcript, the strip does not overflow, and the tab's title holds the whole name."""
    name = "שלום עליכם " + "da Silva " * 20 + "Maria"
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        named = await queued(s.base, s.connector, "5511987654321", name=name)
        other = await queued(s.base, s.connector, "5511987654322")
        strip = agent.locator("#conv-tabs")
        tabs = strip.locator("button")
        for count in (1, 2):
            await agent.get_by_role("button", name="Atender próximo").click()
            await expect(tabs).to_have_count(count)
            # the pickup's answer opens it: a tab may show (from the agent stream) before then
            await expect(tabs.nth(count - 1)).to_have_attribute("aria-pressed", "true")
        long_tab = strip.locator(f"button[data-conversation='{named}']")
        short_tab = strip.locator(f"button[data-conversation='{other}']")
        await expect(long_tab).to_contain_text(name)  # its lookup answered
        await expect(short_tab).to_contain_text("…4322 · Suporte")

        drawn = await strip.evaluate(TABS, [named, other])
        assert drawn["reads"] is True
        long_height, short_height = drawn["heights"]
        assert long_height < 1.5 * short_height  # one line, as the other
        assert drawn["overflows"] is False
        await expect(long_tab).to_have_attribute("title", f"{name} · Suporte")
        await long_tab.click()
        await expect(agent.locator("#conv-info")).to_have_attribute("title", name)
        assert await agent.locator("#conv-info").evaluate(READS_LEFT_TO_RIGHT) is True
