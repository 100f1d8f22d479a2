"""The admin forms in a real Chromium after a refusal: a save that then succeeds (or that the
admin cancels at a confirm) leaves no red error behind; a quick reply's text that is no valid
template is said under Texto in pt-BR; the supervisor's period refuses "De" after "Até" next
to the fields, before asking the server, and keeps no figures of the earlier period on screen;
Canais says the format a field expects and offers "manter o atual" only when one is stored.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); never `playwright install`.
"""

from __future__ import annotations

import httpx
import pytest

from tests import channel_payloads as p
from tests.conftest import admin_headers
from tests.test_admin_form_errors import admin_page
from tests.test_browser import TIMEOUT_MS, Console, browser, live_server  # noqa: F401 (fixture)
from tests.test_supervision import seeded

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
pytestmark = pytest.mark.asyncio

H = admin_headers()
FLOW = """\
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: never}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    next: fim
  fim: {type: end, text: Obrigado!}
"""
NAME_PT = (
    "O nome não pode ter caracteres invisíveis (espaço de largura zero, tabulação, quebra de"
    " linha) e precisa de ao menos uma letra, número ou símbolo."
)


async def test_a_save_that_succeeds_or_is_cancelled_leaves_no_old_error(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=H) as http,
    ):
        made = await http.post("/api/omni/services", json={"name": "Suporte"})
        put = await http.put("/api/bots/loja", content=FLOW, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text

        # Integrações: Salvar with nothing filled, then filled: the key, and no red error
        page = await admin_page(browser, base, "/omni/integracoes/digital-contact-bots", console)
        form = page.locator("#integration-form")
        await page.get_by_role("button", name="Criar novo").click()
        await form.get_by_role("button", name="Salvar").click()
        service_error = form.locator("[data-field='service'] .field-error")
        bot_error = form.locator("[data-field='bot'] .field-error")
        await expect(service_error).to_have_text("Campo obrigatório.")
        await expect(bot_error).to_have_text("Formato inválido.")
        await form.get_by_label("Serviço").select_option("Suporte")
        await form.get_by_label("Nome bot").fill("loja")
        await form.get_by_role("button", name="Salvar").click()
        await expect(page.locator("#toast")).to_have_text("Chatbot “loja” cadastrado.")
        await expect(form.get_by_label("API KEY")).not_to_have_value("")
        await expect(service_error).to_be_hidden()
        await expect(bot_error).to_be_hidden()
        await expect(form.get_by_label("Nome bot")).not_to_have_attribute("aria-invalid", "true")
        await expect(form.get_by_label("Serviço")).not_to_have_attribute("aria-invalid", "true")

        # Serviços: an invisible character refused, then a valid rename the admin cancels at
        # the "Renomear mesmo assim?" confirm (loja's flow uses Suporte): the old error is gone
        page = await admin_page(browser, base, "/omni/servicos", console)
        form = page.locator("#service-form")
        await page.get_by_role("button", name="Editar Suporte").click()
        await form.get_by_label("Nome", exact=True).fill("Suporte\u200b2")
        await form.get_by_role("button", name="Salvar").click()
        name_error = form.locator("[data-field='name'] .field-error")
        await expect(name_error).to_have_text(NAME_PT)
        said: list[str] = []

        async def dismiss(dialog) -> None:  # type: ignore[no-untyped-def]
            said.append(dialog.message)
            await dialog.dismiss()

        page.once("dialog", dismiss)
        await form.get_by_label("Nome", exact=True).fill("Atendimento")
        await form.get_by_role("button", name="Salvar").click()
        await expect(form.get_by_role("button", name="Salvar")).to_be_enabled()
        assert said and "Renomear mesmo assim?" in said[0], said
        await expect(name_error).to_be_hidden()
        await expect(form.get_by_label("Nome", exact=True)).not_to_have_attribute(
            "aria-invalid", "true"
        )
        service = (await http.get(f"/api/omni/services/{made.json()['id']}")).json()
        assert service["name"] == "Suporte"
    assert console.errors == []


async def test_a_quick_reply_that_is_no_template_is_said_under_texto(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=H) as http,
    ):
        # the API locates it on `text`, as its other 422s, with the engine's words in ctx
        body = {"shortcut": "/ola", "title": "Oi", "text": "Olá {{ contact.name "}
        refused = await http.post("/api/omni/quick-replies", json=body)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error"
        [problem] = refused.json()["detail"]
        assert problem["loc"] == ["body", "text"] and problem["type"] == "invalid_template"
        assert problem["ctx"] == {
            "error": "unexpected end of template, expected 'end of print statement'."
        }

        page = await admin_page(browser, base, "/omni/respostas-rapidas", console)
        form = page.locator("#reply-form")
        await page.get_by_role("button", name="Nova resposta rápida").click()
        await form.get_by_label("Atalho").fill("/ola")
        await form.get_by_label("Título").fill("Oi")
        await form.get_by_label("Texto").fill("Olá {{ contact.name ")
        await form.get_by_role("button", name="Salvar").click()
        text_error = form.locator("[data-field='text'] .field-error")
        await expect(text_error).to_have_text(
            "Modelo inválido: unexpected end of template, expected 'end of print statement'."
        )
        await expect(form.get_by_label("Texto")).to_have_attribute("aria-invalid", "true")
        await expect(form.locator(".form-error")).to_be_hidden()  # not "Há campos inválidos."

        # a template too costly to run: said there too
        await form.get_by_label("Texto").fill("{% for i in range(999999999) %}x{% endfor %}")
        await form.get_by_role("button", name="Salvar").click()
        await expect(text_error).to_have_text("Modelo inválido: range holds at most 10,000 numbers")
        await form.get_by_label("Texto").fill("Olá, {{ contact.name }}!")
        await form.get_by_role("button", name="Salvar").click()
        await expect(page.locator("#toast")).to_have_text("Resposta rápida /ola salva.")
        replies = (await http.get("/api/omni/quick-replies")).json()
        assert [r["text"] for r in replies] == ["Olá, {{ contact.name }}!"]
    assert console.errors == []


async def test_a_period_ending_before_it_starts_is_said_next_to_the_dates(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    seeded(engine)  # Suporte's known day: 20/11/2026
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        page = await admin_page(browser, base, "/supervisor", console)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/supervisor/period" in r.url else None)
        rows = page.locator("#period-rows")
        start, end = page.get_by_label("De", exact=True), page.get_by_label("até", exact=True)
        await start.fill("2026-11-20")
        await end.fill("2026-11-20")
        await page.get_by_role("button", name="Ver período").click()
        await expect(rows.locator("tr[data-service='Suporte'] td").nth(0)).to_have_text("6")

        asked.clear()
        await start.fill("2026-11-21")
        await page.get_by_role("button", name="Ver período").click()
        said = page.locator("#period-error")
        await expect(said).to_have_text("A data final não pode ser anterior à inicial.")
        await expect(end).to_have_attribute("aria-invalid", "true")
        await expect(end).to_have_accessible_description(
            "Fuso horário: America/Sao_Paulo A data final não pode ser anterior à inicial."
        )
        # the earlier period's figures are gone, not left under a range they are not of
        await expect(rows.locator("tr[data-service='Suporte']")).to_have_count(0)
        await expect(rows).to_have_text("Sem indicadores: escolha um período válido.")
        await expect(page.locator("#period-range")).to_have_text("")
        await expect(page.get_by_text("Pedido inválido.")).to_have_count(0)
        assert asked == []  # checked before asking the server

        await start.fill("2026-11-20")
        await page.get_by_role("button", name="Ver período").click()
        await expect(rows.locator("tr[data-service='Suporte'] td").nth(0)).to_have_text("6")
        await expect(said).to_be_hidden()
        await expect(end).not_to_have_attribute("aria-invalid", "true")
    assert console.errors == []


async def test_canais_says_the_expected_format_and_keeps_only_what_is_stored(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=H) as http,
    ):
        flow = "bot: loja\nstart: oi\nblocks:\n  oi: {type: end, text: Olá!}\n"
        put = await http.put("/api/bots/loja", content=flow, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text
        page = await admin_page(browser, base, "/bots/loja/canais", console)
        await expect(page.locator("#wa-state")).to_have_text("Não configurado.")
        wa, tg = page.locator("#wa-form"), page.locator("#tg-form")

        # never set up: no field offers to keep a value there is none of
        for form in (wa, tg):
            for field in await form.locator("input.secret").all():
                assert "manter" not in (await field.get_attribute("placeholder") or "")
                assert "mantém" not in (await field.get_attribute("placeholder") or "")

        await wa.get_by_label("ID do número de telefone").fill("+55 11 98765-4321")
        await wa.get_by_role("button", name="Salvar WhatsApp").click()
        await expect(wa.locator("[data-field='phone_number_id'] .field-error")).to_have_text(
            "Somente dígitos (o ID do número de telefone da Meta)."
        )
        await tg.get_by_label("Token do bot (BotFather)").fill("meu-token")
        await tg.get_by_role("button", name="Salvar Telegram").click()
        bot_token_error = tg.locator("[data-field='bot_token'] .field-error")
        await expect(bot_token_error).to_have_text("No formato 123456:ABC… (o token do BotFather).")

        await tg.get_by_label("Token do bot (BotFather)").fill("123456:ABC-DEF1234ghIkl")
        await tg.get_by_role("button", name="Salvar Telegram").click()
        await expect(page.locator("#tg-state")).to_contain_text("Configurado em")
        await expect(bot_token_error).to_be_hidden()
        # now there is one to keep, and the page says so; WhatsApp still has none
        await expect(tg.get_by_label("Token do bot (BotFather)")).to_have_attribute(
            "placeholder", "Deixe em branco para manter o atual"
        )
        await expect(wa.get_by_label("Token de acesso")).not_to_have_attribute(
            "placeholder", "Deixe em branco para manter o atual"
        )
        await wa.get_by_label("ID do número de telefone").fill(p.PHONE_NUMBER_ID)
        await wa.get_by_role("button", name="Salvar WhatsApp").click()
        await expect(wa.locator("[data-field='access_token'] .field-error")).to_have_text(
            "Campo obrigatório."
        )
        await expect(wa.locator("[data-field='phone_number_id'] .field-error")).to_be_hidden()
    assert console.errors == []
