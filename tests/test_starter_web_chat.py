"""A bot made with "Criar novo bot" can be tried in the web chat at once: the starter flow
accepts the web chat (`channels: {web: true}`), and the bots list offers "Abrir web chat" only
for bots whose newest version accepts it (the others say how to turn it on).

The browser test needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import html
import re

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import Console, browser, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio

TIMEOUT_MS = 15_000
INTERNAL = """\
bot: interno
start: fim
blocks:
  fim: {type: end, text: Até logo.}
"""
"""A bot reached only through its connectors: no web chat."""


def starter_of(page_html: str) -> str:
    """The YAML the "Criar novo bot" editor starts from, as the /bots page serves it."""
    match = re.search(r'<textarea id="b-source"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert match, "the Criar novo bot editor"
    return html.unescape(match.group(1))


async def test_the_starter_flow_published_as_it_is_opens_a_web_session(admin_api, monkeypatch):
    """The browser of whoever tries the new bot gets a web session (before: 404
    `no_web_chat`, and the web chat said "Este bot não atende pelo chat web.")."""
    monkeypatch.delenv("NOVO_BOT_OMNI_KEY", raising=False)
    source = starter_of((await admin_api.get("/bots")).text)
    published = await admin_api.put(
        "/api/bots/novo-bot",
        content=source.encode(),
        headers={**admin_headers(), "Content-Type": "application/yaml"},
    )
    assert published.status_code == 201, published.text
    session = await admin_api.post("/api/bots/novo-bot/web-sessions")
    assert session.status_code == 201, session.text
    assert session.json()["token"].startswith("tbs_")
    # a bot whose flow does not say so still has no public web chat
    internal = await admin_api.put(
        "/api/bots/interno",
        content=INTERNAL.encode(),
        headers={**admin_headers(), "Content-Type": "application/yaml"},
    )
    assert internal.status_code == 201, internal.text
    refused = await admin_api.post("/api/bots/interno/web-sessions")
    assert refused.status_code == 404 and refused.json()["code"] == "no_web_chat"
    listed = (await admin_api.get("/api/bots", headers=admin_headers())).json()
    assert {b["bot"]: b["web_chat"] for b in listed} == {"novo-bot": True, "interno": False}


async def test_a_new_bot_is_tried_in_the_web_chat_from_the_bots_list(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
    monkeypatch,
) -> None:
    monkeypatch.delenv("VENDAS_OMNI_KEY", raising=False)
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers()) as http,
    ):
        internal = await http.put(
            "/api/bots/interno", content=INTERNAL, headers={"Content-Type": "application/yaml"}
        )
        assert internal.status_code == 201, internal.text
        context = await browser.new_context(locale="pt-BR", base_url=base)
        await context.add_init_script(
            f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r})"
        )
        admin = await context.new_page()
        console.watch(admin)
        await admin.goto("/bots")

        # a bot without the web chat: no link to a chat that would refuse it, but how to enable it
        row = admin.locator("#bots tr[data-bot='interno']")
        await expect(row.locator("[data-hint='web']")).to_have_text(
            "Sem web chat: para testar o bot no navegador, inclua channels: {web: true} no YAML"
            " (Editar YAML)."
        )
        await expect(row.get_by_role("link", name="Abrir web chat de interno")).to_have_count(0)

        # Criar novo bot with the starter flow as it is
        await admin.get_by_role("button", name="Criar novo bot").click()
        create = admin.locator("#bot-form")
        await create.get_by_label("Nome do bot").fill("vendas")
        await expect(create.get_by_label("Fluxo (YAML)")).to_have_value(
            re.compile(r"^channels:\n  web: true", re.M)
        )
        await create.get_by_role("button", name="Salvar").click()
        created = admin.locator("#created")
        await expect(created).to_contain_text("Bot vendas criado")
        await expect(created).to_contain_text("Teste o bot agora: abrir o web chat de vendas")
        await expect(created).to_contain_text("Próximas etapas")
        await expect(created).not_to_contain_text("null")  # the absent hint, printed before
        await expect(
            created.get_by_role("link", name="abrir o web chat de vendas")
        ).to_have_attribute("href", "/chat/vendas")
        vendas = admin.locator("#bots tr[data-bot='vendas']")
        await expect(vendas.locator("[data-hint='web']")).to_have_count(0)

        # "Abrir web chat": the bot answers there
        await vendas.get_by_role("link", name="Abrir web chat de vendas").click()
        await expect(admin).to_have_url(f"{base}/chat/vendas")
        await admin.get_by_label("Mensagem", exact=True).fill("oi")
        await admin.get_by_role("button", name="Enviar").click()
        await expect(admin.locator(".msg.bot").first).to_contain_text("Bem-vindo.")
        await admin.get_by_role("button", name="Encerrar").click()
        await expect(admin.locator(".msg.bot").last).to_have_text("Obrigado pelo contato!")
        await expect(admin.locator("body")).not_to_contain_text("não atende pelo chat web")
    assert console.errors == []
