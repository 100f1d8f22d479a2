"""The web chat lets in images from its queue cards' hosts only, in a real Chromium.

The chat page's Content-Security-Policy let images in from any https host; it now names the
origins of the services' card images, read when the page is served (tests/test_chat_image_origins.py
for the header's rules). Two loopback https image hosts stand in for the admin's: a card's image
from its host shows; once the admin moves the card to the other host, a page served before that
change is refused the new image by the browser (a CSP violation, reported, and never fetched),
and a page served after it shows the image.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); never `playwright install`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import admin_headers
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server  # noqa: F401 (fixture)
from tests.test_browser_double_sends import OPTION
from tests.test_browser_first_run import image_host, publish_carded_loja

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
pytestmark = pytest.mark.asyncio

WATCH_CSP = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push({ blocked: event.blockedURI, directive: event.effectiveDirective });
});
"""
"""The page's CSP violations, as the browser reports them (an init script: no page CSP
applies to it)."""


def _card(image: str) -> dict[str, object]:
    notes = {"title": "Enquanto espera", "text": "Veja a novidade", "image_url": image}
    return {"enabled": True, "interval_seconds": 1, "cards": [notes]}


def _images(policy: str) -> list[str]:
    [found] = [d.split()[1:] for d in policy.split(";") if d.split()[0] == "img-src"]
    return found


async def _to_the_queue(customer) -> None:  # type: ignore[no-untyped-def]
    box = customer.get_by_label("Mensagem", exact=True)
    await box.fill("oi")
    await box.press("Enter")
    await customer.get_by_role("button", name=OPTION).click()


async def test_the_chat_shows_its_cards_images_and_the_browser_blocks_another_hosts(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        image_host(tmp_path / "a") as (card_origin, card_served),
        image_host(tmp_path / "b") as (other_origin, other_served),
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers()) as http,
    ):
        suporte = await publish_carded_loja(http, _card(f"{card_origin}/a.png"))

        # self-signed certificates stand in for the image hosts' real ones
        context = await browser.new_context(locale="pt-BR", base_url=base, ignore_https_errors=True)
        await context.add_init_script(WATCH_CSP)
        customer = await context.new_page()
        console.watch(customer)
        served = await customer.goto("/chat/loja")
        assert served is not None
        policy = await served.header_value("content-security-policy")
        assert _images(policy or "") == ["'self'", "data:", "blob:", card_origin]
        await _to_the_queue(customer)
        cards = customer.get_by_role("group", name="Enquanto você espera")
        image = cards.first.locator("img")
        await expect(image).to_have_attribute("src", f"{card_origin}/a.png")
        shown = await image.element_handle()
        await customer.wait_for_function("img => img.complete && img.naturalWidth === 3", arg=shown)
        assert card_served and card_served[0].startswith("GET /a.png ")

        # the admin moves the card's image to another host; this page was served before that
        patched = await http.patch(
            f"/api/omni/services/{suporte}",
            json={"queue_notifications": _card(f"{other_origin}/b.png")},
        )
        assert patched.status_code == 200, patched.text
        await customer.get_by_role("button", name="Nova conversa").click()
        await _to_the_queue(customer)  # a new handoff: the new card
        await expect(image).to_have_attribute("src", f"{other_origin}/b.png")
        await customer.wait_for_function(
            "url => window.violations.some((v) => v.blocked === url && v.directive === 'img-src')",
            arg=f"{other_origin}/b.png",
        )
        assert other_served == []  # refused before any request

        # a page served after the change lets the new host in (and the old host no more)
        again = await context.new_page()
        console.watch(again)
        served = await again.goto("/chat/loja")  # the same conversation, restored
        assert served is not None
        policy = await served.header_value("content-security-policy")
        assert _images(policy or "") == ["'self'", "data:", "blob:", other_origin]
        moved = again.get_by_role("group", name="Enquanto você espera").first.locator("img")
        await expect(moved).to_have_attribute("src", f"{other_origin}/b.png")
        shown = await moved.element_handle()
        await again.wait_for_function("img => img.complete && img.naturalWidth === 3", arg=shown)
        assert other_served and other_served[0].startswith("GET /b.png ")
        assert await again.evaluate("window.violations") == []
    # Chromium's words: "Loading the image '…' violates the following Content Security Policy
    # directive" (older versions: "Refused to load the image '…' because it violates …")
    refused = [e for e in console.errors if f"image '{other_origin}/b.png'" in e]
    assert refused and all("Content Security Policy directive" in e for e in refused)
    assert [e for e in console.errors if e not in refused] == []
