"""Omni's own field rules answer a 422 item with a code (`type`) the admin screens say in pt-BR.

A bad webhook or button URL used to be a plain ValueError: its item was a `value_error` whose
only words were the English "must be an http:// or https:// URL with a host", and the Serviços
screen showed that. Every rule of omni/ an admin form reaches now raises a `FieldCode`
(omni/field_errors.py) with the values the screen names in `ctx`, said next to its field; a
service's PATCH with `offer_seconds`, `assignment` or `max_lapses` null is such a 422 too (it
used to pass the model and reach a NOT NULL column).

Review: a card button's errors (`button_action` at `…buttons.N`, `url_invalid` at
`…buttons.N.url`) were said at the bottom of the card with the focus on "Rótulo do botão"; they
are said at the button's value field (`…buttons.N.url` or `.payload`, by its kind), focused.

The browser test needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from omni.field_errors import FieldCode
from tests.conftest import admin_headers
from tests.test_admin_form_errors import TIMEOUT_MS, admin_page
from tests.test_browser import Console, browser, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio

H = admin_headers()
COMMON_JS = Path(__file__).parent.parent / "api" / "static" / "js" / "common.js"
CARD = {"title": "Enquanto espera", "text": "Veja nosso site"}
SHORT_SECRET = "whsec_" + base64.b64encode(b"short").decode()

SERVICE_CASES: list[tuple[dict[str, Any], list[Any], str, dict[str, Any] | None]] = [
    # (body beside the name, loc after "body", type, ctx)
    ({"webhook": {"url": "ftp://example.com"}}, ["webhook", "url"], "url_invalid", None),
    ({"webhook": {"url": "exemplo.com.br"}}, ["webhook", "url"], "url_invalid", None),
    ({"webhook": {"enabled": True}}, ["webhook", "url"], "url_required", None),
    (
        {"webhook": {"url": "https://x.example", "secret": "abc"}},
        ["webhook", "secret"],
        "webhook_secret",
        {"min_bytes": 16},
    ),
    (
        {"webhook": {"url": "https://x.example", "secret": SHORT_SECRET}},
        ["webhook", "secret"],
        "webhook_secret",
        {"min_bytes": 16},
    ),
    (
        {"queue_notifications": {"cards": [{**CARD, "image_url": "javascript:alert(1)"}]}},
        ["queue_notifications", "cards", 0, "image_url"],
        "url_invalid",
        None,
    ),
    (
        {
            "queue_notifications": {
                "cards": [{**CARD, "buttons": [{"label": "Site", "url": "www.x.com"}]}]
            }
        },
        ["queue_notifications", "cards", 0, "buttons", 0, "url"],
        "url_invalid",
        None,
    ),
    (
        {"queue_notifications": {"cards": [{**CARD, "buttons": [{"label": "Site"}]}]}},
        ["queue_notifications", "cards", 0, "buttons", 0],
        "button_action",
        None,
    ),
    (
        {"queue_notifications": {"enabled": True}},
        ["queue_notifications", "cards"],
        "cards_required",
        None,
    ),
    ({"name": "   "}, ["name"], "blank", None),
    ({"transfer_group": ["Vendas", "Vendas"]}, ["transfer_group"], "repeated", {"value": "Vendas"}),
    (
        {"wrapup": {"codes": ["Venda", "Venda"]}},
        ["wrapup", "codes"],
        "repeated",
        {"value": "Venda"},
    ),
    (
        {"wrapup": {"codes": ["Venda", "Troca", "vénda"]}},
        ["wrapup", "codes", 2],
        "same_code",
        {"first": "Venda", "code": "vénda"},
    ),
]


def _only(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    [item] = response.json()["detail"]
    return item  # type: ignore[no-any-return]


def _check(item: dict[str, Any], loc: list[Any], kind: str, ctx: dict[str, Any] | None) -> None:
    assert item["loc"] == ["body", *loc], item
    assert item["type"] == kind, item
    assert item.get("ctx") == ctx, item
    assert kind in MESSAGES_PT, kind  # the screens say it in pt-BR


def _messages_pt() -> set[str]:
    """The types `MESSAGES` in common.js says in pt-BR (what `errorText` reads)."""
    common = COMMON_JS.read_text(encoding="utf-8")
    start = common.index("const MESSAGES = {")
    table = common[start : common.index("\n};", start)]
    return set(re.findall(r"^  ([a-z_]+): ", table, re.M))


MESSAGES_PT = _messages_pt()


async def test_every_field_code_has_its_ptbr_text() -> None:
    assert {code.value for code in FieldCode} <= MESSAGES_PT, {
        code.value for code in FieldCode
    } - MESSAGES_PT


@pytest.mark.parametrize(("extra", "loc", "kind", "ctx"), SERVICE_CASES)
async def test_a_services_bad_field_is_a_coded_422_item(  # type: ignore[no-untyped-def]
    admin_api, extra: dict[str, Any], loc: list[Any], kind: str, ctx: dict[str, Any] | None
) -> None:
    made = await admin_api.post("/api/omni/services", json={"name": "Suporte", **extra}, headers=H)
    _check(_only(made), loc, kind, ctx)


async def test_partial_changes_and_the_other_forms_are_coded_too(admin_api) -> None:  # type: ignore[no-untyped-def]
    made = await admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    assert made.status_code == 201, made.text
    url = f"/api/omni/services/{made.json()['id']}"
    for field in ("name", "offer_seconds", "assignment", "max_lapses", "webhook"):
        changed = await admin_api.patch(url, json={field: None}, headers=H)
        _check(_only(changed), [field], "not_null", None)
    wrong = {"webhook": {"enabled": True, "url": "ftp://example.com"}}
    _check(
        _only(await admin_api.patch(url, json=wrong, headers=H)),
        ["webhook", "url"],
        "url_invalid",
        None,
    )
    assert (await admin_api.get(url, headers=H)).json()["offer_seconds"] == 30

    agents = "/api/omni/agents"
    for body, loc, kind, ctx in (
        ({"name": " "}, ["name"], "blank", None),
        ({"services": ["Suporte", "Suporte"]}, ["services"], "repeated", {"value": "Suporte"}),
        ({"skills": ["Vendas", "vendas"]}, ["skills"], "repeated", {"value": "vendas"}),
        ({"skills": ["Vendas", " "]}, ["skills"], "blank", None),
    ):
        refused = await admin_api.post(agents, json={"name": "Ana", **body}, headers=H)
        _check(_only(refused), loc, kind, ctx)
    agent = await admin_api.post(agents, json={"name": "Ana"}, headers=H)
    assert agent.status_code == 201, agent.text
    nulled = await admin_api.patch(
        f"{agents}/{agent.json()['id']}", json={"capacity": None}, headers=H
    )
    _check(_only(nulled), ["capacity"], "not_null", None)

    reply = {"shortcut": "/boleto", "title": "Boleto", "text": "   "}
    refused = await admin_api.post("/api/omni/quick-replies", json=reply, headers=H)
    _check(_only(refused), ["text"], "blank", None)


async def test_the_services_screen_says_a_bad_webhook_or_button_at_its_field(  # type: ignore[no-untyped-def]
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        page = await admin_page(browser, base, "/omni/servicos", console)
        form = page.locator("#service-form")
        await page.get_by_role("button", name="Novo Serviço").click()
        await form.get_by_label("Nome", exact=True).fill("Suporte")
        await form.get_by_label("Habilitar integração Webhook Externo").check()
        await form.get_by_label("URL do webhook").fill("ftp://exemplo.com.br/eventos")
        await form.get_by_role("button", name="Salvar").click()
        said = form.locator("[data-field='webhook.url'] .field-error")
        await expect(said).to_have_text(
            "Use um endereço completo começando com http:// ou https:// (por exemplo,"
            " https://exemplo.com.br)."
        )
        await expect(form.get_by_label("URL do webhook")).to_have_attribute("aria-invalid", "true")
        await expect(form).not_to_contain_text("must be")

        await form.get_by_label("URL do webhook").fill("")
        await form.get_by_role("button", name="Salvar").click()
        await expect(said).to_have_text("Informe a URL para habilitar o webhook.")

        # A card button's errors are said at its value, which takes the focus (they used to
        # go to the bottom of the card, the focus to "Rótulo do botão").
        await form.get_by_label("Habilitar integração Webhook Externo").uncheck()
        await form.get_by_label("Notificar usuário na fila de espera").check()
        card = form.locator(".card-editor").first
        await card.get_by_label("Título").fill(CARD["title"])
        await card.get_by_label("Texto").fill(CARD["text"])
        await card.get_by_role("button", name="Adicionar botão").click()
        await card.get_by_label("Rótulo do botão").fill("Site")
        value = card.get_by_label("Resposta ou link")
        await form.get_by_role("button", name="Salvar").click()
        path = "queue_notifications.cards.0.buttons.0"
        at_payload = form.locator(f"[data-field='{path}.payload'] .field-error")
        await expect(at_payload).to_have_text(
            "Preencha a resposta ou o link do botão (um dos dois)."
        )
        await expect(value).to_have_attribute("aria-invalid", "true")
        await expect(value).to_be_focused()
        await expect(card.locator(":scope > .field-error")).to_have_count(0)

        await card.get_by_label("Ação").select_option("url")
        await value.fill("exemplo.com.br")
        await form.get_by_role("button", name="Salvar").click()
        at_url = form.locator(f"[data-field='{path}.url'] .field-error")
        await expect(at_url).to_have_text(
            "Use um endereço completo começando com http:// ou https:// (por exemplo,"
            " https://exemplo.com.br)."
        )
        await expect(value).to_be_focused()
        await expect(card.get_by_label("Rótulo do botão")).not_to_have_attribute(
            "aria-invalid", "true"
        )
        await expect(card.locator(":scope > .field-error")).to_have_count(0)
    assert console.errors == []
