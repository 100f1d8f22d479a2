"""The YAML editor says a flow's problems in pt-BR ("Problemas do fluxo"), from each problem's
code and values (tests/test_flow_issue_codes.py), with the YAML parser's or Jinja's own words in
parentheses; an empty YAML says what a bot needs instead of "Há campos inválidos".

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import pytest

from tests.test_admin_form_errors import admin_page
from tests.test_browser import Console, browser, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio

TIMEOUT_MS = 15_000
BROKEN = """\
bot: loja
start: inicio
blocks:
  inicio: {type: message, text: "Oi, {{ nome", next: undefined}
  outro: {type: foo, text: Oi}
  humano: {type: human, next: fim}
  fim: {type: end, text: 1, max_retries: 2}
"""
ISSUES = [
    "Linha 4, coluna 33Bloco “inicio”, text: o texto tem um erro de modelo (unexpected end of"
    " template, expected 'end of print statement').",
    "Linha 4, coluna 54Bloco “inicio”, next: bloco desconhecido “undefined”.",  # the designer's
    "Linha 5, coluna 17Bloco “outro”: tipo de bloco desconhecido “foo” (os tipos: message,"
    " question, menu, condition, set, http, human, end).",
    "Linha 6, coluna 3Bloco “humano”: o bot não tem as configurações de Atendimento Humano"
    " (inclua human_service com platform e omni_key).",
    "Linha 7, coluna 29Bloco “fim”: chave desconhecida “max_retries” (as permitidas: type, text).",
]


async def test_the_yaml_editor_says_each_problem_in_ptbr(
    time_env,
    settings,
    engine,
    browser,  # noqa: F811
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        page = await admin_page(browser, base, "/bots", console)
        await page.get_by_role("button", name="Criar novo bot").click()
        form = page.locator("#bot-form")
        await form.get_by_label("Nome do bot").fill("loja")
        source = form.get_by_label("Fluxo (YAML)")
        issues = form.locator(".issue-list .issue")

        await source.fill("")
        await form.get_by_role("button", name="Salvar").click()
        await expect(issues).to_have_text(
            ["Linha 1, coluna 1O arquivo está vazio: um bot precisa de “bot”, “start” e “blocks”."]
        )

        await source.fill(BROKEN.replace('"Oi, {{ nome"', "Oi: tudo bem?"))
        await form.get_by_role("button", name="Salvar").click()
        await expect(issues).to_have_text(
            [
                "Linha 4, coluna 35Erro de sintaxe no YAML: dentro de { } ou [ ], ponha entre"
                " aspas os textos que têm , : # [ ] { } (expected ',' or '}', but got ':';"
                " while parsing a flow mapping, linha 4)."
            ]
        )

        await source.fill(BROKEN)
        await form.get_by_role("button", name="Salvar").click()
        await expect(issues).to_have_text(ISSUES)
        await expect(form.locator(".issues")).not_to_contain_text("unknown")
        await expect(form.locator(".form-error")).to_contain_text("O fluxo tem problemas (5)")

        # a code this page does not know (a newer server), or one without the values it needs:
        # the API's own words, never nothing
        said = await page.evaluate(UNKNOWN_CODES)
        assert said == [
            "Linha 2, coluna 3block 'x': something new",
            "Linha 3, coluna 1block 'y', next: unknown block 'z'",
        ]
        said = await page.evaluate(NEW_RULES)
        assert said == [
            "Linha 4, coluna 9A palavra-chave precisa de uma letra ou um número (espaços,"
            " pontuação, símbolos e emoji são ignorados na comparação, então ela nunca"
            " coincidiria).",
            "Linha 9, coluna 10Intervalo inválido: 23:00-23:00 (use HH:MM-HH:MM, como"
            " 08:00-12:00; o dia inteiro é 00:00-24:00).",
            "Linha 10, coluna 10Os intervalos mon 22:00-02:00 e tue 01:00-03:00 se sobrepõem"
            " (o primeiro passa da meia-noite).",
        ]
    assert console.errors == []


NEW_RULES = """async () => {
  const { YamlEditor } = await import("/static/js/yaml_editor.js");
  const editor = new YamlEditor(document.querySelector("#bot-form .yaml-layout"));
  editor.setIssues([
    { line: 4, column: 9, message: "a keyword needs a letter or a digit", code: "empty_keyword",
      ctx: {} },
    { line: 9, column: 10, message: "ends where it starts", code: "bad_time_window",
      ctx: { window: "23:00-23:00" } },
    { line: 10, column: 10, message: "overlapping", code: "overlapping_windows",
      ctx: { first: "22:00-02:00", second: "01:00-03:00", first_day: "mon", second_day: "tue" } },
  ]);
  return [...editor.list.children].map((item) => item.textContent);
}"""


UNKNOWN_CODES = """async () => {
  const { YamlEditor } = await import("/static/js/yaml_editor.js");
  const editor = new YamlEditor(document.querySelector("#bot-form .yaml-layout"));
  editor.setIssues([
    { line: 2, column: 3, message: "block 'x': something new", code: "something_new", ctx: {} },
    { line: 3, column: 1, message: "block 'y', next: unknown block 'z'", code: "unknown_block" },
  ]);
  return [...editor.list.children].map((item) => item.textContent);
}"""
