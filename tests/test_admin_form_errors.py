"""The admin forms speak pt-BR when they refuse a value: a name with an invisible character
(while an emoji ZWJ sequence such as "🧑‍💻" is a name like any other), an unknown time zone, a
bad day off or time window. The forms never showed YAML, so they say the field, not the YAML's
line and column; the YAML editor keeps its line:column messages.

The browser tests need Debian's chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.test_browser import Console, browser, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio

H = admin_headers()
TIMEOUT_MS = 15_000
ZWJ = "\u200d"
TECHNOLOGIST = f"Zé \U0001f9d1{ZWJ}\U0001f4bb Atendente"
"""Person + ZWJ + laptop: one emoji ("technologist")."""
FAMILY = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"
RAINBOW_FLAG = f"\U0001f3f3\ufe0f{ZWJ}\U0001f308 Suporte"
"""White flag, emoji presentation selector, ZWJ, rainbow."""
DEV_MEDIUM_SKIN = f"\U0001f9d1\U0001f3fd{ZWJ}\U0001f4bb Plantão"
"""Person, medium skin tone, ZWJ, laptop."""
NAME_PT = (
    "O nome não pode ter caracteres invisíveis (espaço de largura zero, tabulação, quebra de"
    " linha) e precisa de ao menos uma letra, número ou símbolo."
)
FLOW = """\
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY", wait_time_notice: never}
schedule:
  timezone: America/Sao_Paulo
  hours: {mon-fri: ["08:00-18:00"]}
  holidays:
    - {date: "12-25", name: Natal}
    - {date: "01-01", name: Ano Novo}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    next: fim
  fim: {type: end, text: Obrigado!}
"""


async def test_an_emoji_zwj_sequence_is_a_name_and_a_stray_joiner_is_refused(admin_api):
    for what, name in (
        ("agents", TECHNOLOGIST),
        ("services", FAMILY),
        ("services", RAINBOW_FLAG),
        ("agents", DEV_MEDIUM_SKIN),
    ):
        made = await admin_api.post(f"/api/omni/{what}", json={"name": name}, headers=H)
        assert made.status_code == 201, (name, made.text)
        assert made.json()["name"] == name  # stored as typed, the joiner kept
    # the joiner is folded away in the normal form, as every format character: the emoji's
    # parts side by side are the same name
    apart = TECHNOLOGIST.replace(ZWJ, "").upper()
    clash = await admin_api.post("/api/omni/agents", json={"name": apart}, headers=H)
    assert clash.status_code == 409 and clash.json()["existing"] == TECHNOLOGIST
    # a joiner anywhere else is an invisible character: 422 with a code the pages say
    for name in (f"Ana{ZWJ}Maria", f"\U0001f9d1{ZWJ}", f"{ZWJ}\U0001f4bb", f"a{ZWJ}\U0001f4bb"):
        for what in ("agents", "services"):
            refused = await admin_api.post(f"/api/omni/{what}", json={"name": name}, headers=H)
            assert refused.status_code == 422, (name, refused.text)
            [problem] = refused.json()["detail"]
            assert problem["type"] == "invalid_name" and problem["loc"] == ["body", "name"]
            assert "U+200D" in problem["msg"]


async def test_the_bot_settings_api_codes_a_bad_time_zone_and_day_off(admin_api):
    """The settings' 422 keeps its YAML line and English message, and says what is wrong by a
    code with the value in `ctx`, for the forms to say it in their own words."""
    await admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    put = await admin_api.put(
        "/api/bots/loja", content=FLOW, headers={**H, "Content-Type": "application/yaml"}
    )
    assert put.status_code == 201, put.text
    zone = await admin_api.patch(
        "/api/bots/loja/settings", json={"schedule": {"timezone": "Marte/Olympus"}}, headers=H
    )
    assert zone.status_code == 422 and zone.json()["code"] == "flow_invalid"
    [issue] = zone.json()["detail"]
    assert issue["code"] == "unknown_time_zone" and issue["ctx"] == {"zone": "Marte/Olympus"}
    assert issue["line"] == 4 and issue["message"].startswith("schedule.timezone: unknown")
    day = await admin_api.patch(
        "/api/bots/loja/settings",
        json={"schedule": {"holidays": [{"date": "31/12", "name": "Réveillon"}]}},
        headers=H,
    )
    [issue] = day.json()["detail"]
    assert issue["code"] == "bad_holiday_date" and issue["ctx"] == {"date": "31/12"}
    # any other problem has its own code too (tests/test_flow_issue_codes.py)
    broken = FLOW.replace("next: fim\n", "next: fimm\n")
    refused = await admin_api.put(
        "/api/bots/loja", content=broken, headers={**H, "Content-Type": "application/yaml"}
    )
    assert {i["code"] for i in refused.json()["detail"]} == {"unknown_block", "unreachable_block"}


async def admin_page(browser, base: str, path: str, console: Console):  # type: ignore[no-untyped-def]  # noqa: F811
    context = await browser.new_context(locale="pt-BR", base_url=base)
    await context.add_init_script(
        f"sessionStorage.setItem('transbordo.adminToken', {ADMIN_TOKEN!r})"
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    console.watch(page)
    await page.goto(path)
    return page


async def test_the_names_forms_take_an_emoji_and_refuse_an_invisible_character_in_ptbr(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        page = await admin_page(browser, base, "/omni/agentes", console)
        form = page.locator("#agent-form")
        await page.get_by_role("button", name="Novo atendente").click()
        await form.get_by_label("Nome").fill(TECHNOLOGIST)
        await form.get_by_role("button", name="Salvar").click()
        await expect(page.locator("#token-agent")).to_have_text(TECHNOLOGIST)
        await expect(page.locator("#agents")).to_contain_text(TECHNOLOGIST)

        await page.get_by_role("button", name="Novo atendente").click()
        await form.get_by_label("Nome").fill(f"Ana{ZWJ}Maria")
        await form.get_by_role("button", name="Salvar").click()
        said = form.locator("[data-field='name'] .field-error")
        await expect(said).to_have_text(NAME_PT)
        await expect(form.get_by_label("Nome")).to_have_attribute("aria-invalid", "true")

        page = await admin_page(browser, base, "/omni/servicos", console)
        form = page.locator("#service-form")
        await page.get_by_role("button", name="Novo Serviço").click()
        await form.get_by_label("Nome", exact=True).fill("Suporte\u200b")
        await form.get_by_role("button", name="Salvar").click()
        await expect(form.locator("[data-field='name'] .field-error")).to_have_text(NAME_PT)
        await form.get_by_label("Nome", exact=True).fill(FAMILY)
        await form.get_by_role("button", name="Salvar").click()
        await expect(page.locator(f"#services tr[data-service='{FAMILY}']")).to_be_visible()
    assert console.errors == []


async def test_the_schedule_forms_say_a_bad_value_in_ptbr_next_to_its_field(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base, headers=H) as http,
    ):
        await http.post("/api/omni/services", json={"name": "Suporte"})
        put = await http.put("/api/bots/loja", content=FLOW, headers={"Content-Type": "text/yaml"})
        assert put.status_code == 201, put.text
        page = await admin_page(browser, base, "/bots/loja/atendimento-humano", console)
        await expect(page.locator("#version-line")).to_have_text("Versão 1 publicada")

        # Horário de atendimento: an unknown time zone, said next to "Fuso horário"
        hours = page.locator("#hours-form")
        await hours.get_by_label("Fuso horário").fill("Marte/Olympus")
        await hours.get_by_role("button", name="Salvar").click()
        await expect(hours.locator("[data-field='schedule.timezone'] .field-error")).to_have_text(
            "Fuso horário desconhecido: Marte/Olympus. Use um fuso da lista, como"
            " America/Sao_Paulo."
        )
        await expect(hours.get_by_label("Fuso horário")).to_have_attribute("aria-invalid", "true")
        await expect(hours).not_to_contain_text("linha")
        await hours.get_by_label("Fuso horário").fill("America/Sao_Paulo")

        # a window typed without its leading zero: said next to Monday's windows
        await hours.get_by_label("Segunda-feira: início do intervalo 1").fill("8:00")
        await hours.get_by_role("button", name="Salvar").click()
        monday = hours.locator("tr[data-day='mon'] .field-error")
        await expect(monday).to_have_text(
            "Intervalo inválido: 8:00-18:00 (use HH:MM nos dois campos, como 08:00 e 12:00; o dia"
            " inteiro é 00:00 a 24:00)."
        )
        await expect(hours.locator("tr[data-day='tue'] .field-error")).to_have_count(0)
        await expect(hours).not_to_contain_text("YAML")

        # Monday past midnight into Tuesday's window: both named, in pt-BR
        await hours.get_by_label("Segunda-feira: início do intervalo 1").fill("22:00")
        await hours.get_by_label("Segunda-feira: fim do intervalo 1").fill("02:00")
        await hours.get_by_label("Terça-feira: início do intervalo 1").fill("01:00")
        await hours.get_by_role("button", name="Salvar").click()
        await expect(hours).to_contain_text(
            "Os intervalos Segunda-feira 22:00-02:00 e Terça-feira 01:00-18:00 se sobrepõem"
            " (o primeiro passa da meia-noite)."
        )
        await hours.get_by_label("Segunda-feira: início do intervalo 1").fill("08:00")
        await hours.get_by_label("Segunda-feira: fim do intervalo 1").fill("18:00")
        await hours.get_by_label("Terça-feira: início do intervalo 1").fill("08:00")

        # Dias de folga: the first day off rewritten as 31/12 (the YAML now lists it second)
        holidays = page.locator("#holidays-form")
        await holidays.get_by_label("Data do dia de folga 1").fill("31/12")
        await holidays.get_by_role("button", name="Salvar").click()
        first = holidays.locator("tr").filter(has=page.get_by_label("Data do dia de folga 1"))
        await expect(first.locator(".field-error")).to_have_text(
            "Data de folga inválida: 31/12 (use AAAA-MM-DD, MM-DD para todo ano ou um período"
            " como 12-24..12-26)."
        )
        await expect(holidays.get_by_label("Data do dia de folga 1")).to_have_attribute(
            "aria-invalid", "true"
        )
        await expect(holidays.locator(".field-error")).to_have_count(1)
        await expect(holidays).not_to_contain_text("linha")
        await expect(page.locator("#version-line")).to_have_text("Versão 1 publicada")

        # the YAML editor, where the admin sees the YAML, keeps the line and column
        yaml = page.locator("#yaml-form")
        source = yaml.get_by_label("Fluxo (YAML)")
        await source.fill(FLOW.replace("America/Sao_Paulo", "Marte/Olympus"))
        await yaml.get_by_role("button", name="Salvar").click()
        issue = yaml.locator(".issue-list .issue")
        await expect(issue).to_contain_text("Linha 4, coluna 13")
        await expect(issue).to_contain_text(
            "Fuso horário desconhecido: Marte/Olympus (use um fuso como America/Sao_Paulo)."
        )
    assert console.errors == []
