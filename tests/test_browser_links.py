"""Web addresses in a chat bubble are links (api/static/js/links.js), in a real Chromium: an
agent's "rastreie em https://…" could not be clicked in the web chat (an exploratory QA's
finding). Only http(s) addresses, built as elements (the text around stays text), opened in a
new tab without this page or the referrer; the sentence's own punctuation is not the address's.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_browser import Console, browser, live_server  # noqa: F401 (fixture)
from tests.test_browser_agent_polish import queued
from tests.test_browser_agent_qa import say
from tests.test_browser_double_sends import expect, scene

pytestmark = pytest.mark.asyncio

RENDER = """async (text) => {
  const { render } = await import("/static/js/chat_render.js");
  const bubble = render({ from: "agent", kind: "text", text, data: { agent: "Ana" } },
                        { choose() {}, media: {} });
  return {
    text: bubble.textContent,
    links: [...bubble.querySelectorAll("a")].map((a) => ({
      href: a.getAttribute("href"), text: a.textContent, target: a.target, rel: a.rel,
    })),
    html: [...bubble.querySelectorAll("b, img, script")].length,
  };
}"""


async def test_addresses_in_a_bubble_are_links_and_nothing_else_is(
    time_env: Any,
    settings: Any,
    engine: Any,
    browser: Any,  # noqa: F811
) -> None:
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        context = await browser.new_context(base_url=base)
        page = await context.new_page()
        console.watch(page)
        await page.goto("/chat/loja")

        said = "Rastreie em https://loja.example/pedido?id=7&x=1. Dúvidas (https://ajuda.example/a_(b))!"
        shown = await page.evaluate(RENDER, said)
        assert shown["text"] == "Ana" + said  # not a character lost or added
        assert shown["links"] == [
            {
                "href": "https://loja.example/pedido?id=7&x=1",
                "text": "https://loja.example/pedido?id=7&x=1",
                "target": "_blank",
                "rel": "noopener noreferrer nofollow",
            },
            {
                "href": "https://ajuda.example/a_(b)",
                "text": "https://ajuda.example/a_(b)",
                "target": "_blank",
                "rel": "noopener noreferrer nofollow",
            },
        ]

        # what phones type around an address is not part of it: curly quotes, «», *bold*, "…"
        for said, address in (
            ("Acesse “https://loja.example/pedido” agora", "https://loja.example/pedido"),
            ("«https://loja.example/a»", "https://loja.example/a"),
            ("*https://loja.example/b*", "https://loja.example/b"),
            ("veja https://loja.example/c…", "https://loja.example/c"),
            ("https://loja.example/d" + ")" * 50, "https://loja.example/d"),
        ):
            shown = await page.evaluate(RENDER, said)
            assert [link["href"] for link in shown["links"]] == [address], said
            assert shown["text"] == "Ana" + said

        for not_a_link in (
            "javascript:alert(1)",
            "veja <b>x</b> <img src=x onerror=alert(1)> www.loja.example",
            "ftp://loja.example/a data:text/html,oi",
            "http://",
        ):
            shown = await page.evaluate(RENDER, not_a_link)
            assert shown["links"] == [] and shown["html"] == 0, not_a_link
            assert shown["text"] == "Ana" + not_a_link
        await context.close()
    assert console.errors == []


async def test_the_agent_sees_a_customers_address_as_a_link(time_env, settings, engine, browser):  # noqa: F811
    async with scene(time_env, settings, engine, browser, provoked=False) as s:
        agent = await s.agent()
        await queued(s.base, s.connector, "5511987654321", name="Maria Souza")
        await agent.get_by_role("button", name="Atender próximo").click()
        transcript = agent.locator("#transcript")
        await expect(transcript).to_contain_text("Vou te transferir")
        await say(s.base, s.connector, "5511987654321", "o pedido: https://loja.example/p/1.")
        link = transcript.get_by_role("link", name="https://loja.example/p/1")
        await expect(link).to_have_attribute("href", "https://loja.example/p/1")
        await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        await expect(transcript.locator(".msg.customer").last).to_have_text(
            "Clienteo pedido: https://loja.example/p/1."
        )
