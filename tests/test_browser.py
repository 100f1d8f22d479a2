"""The seed's seven steps through the pages, in a real Chromium, against a real server.

An empty system (two services made over the API: Financeiro and the hidden Diretoria); then
everything goes through the pages: the bot `loja` created by pasting its YAML (a broken version
first: its problem is listed by line next to the editor), the service "Suporte", the integration
and its key (copied to the clipboard), the bot's Atendimento Humano with that key, hours and a
day off, the Humano block, an edit of the YAML on the bot's page; then a customer in the web chat
reaches the Humano block, an agent picks the conversation up in the Tela de Atendimento, they
talk both ways, the agent transfers it to a service of the list the rules allow, picks it up
there and hands the customer back to the bot, and the bot goes on. Last, with nobody available,
a customer leaves a message in the Caixa Postal and the admin reads it on its page.
Screenshots go to test-output/screenshots/; a console error fails the test.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); never `playwright install`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from api.coalesced_http import CoalescedHttpToolsProtocol
from store.tables import conversations
from tests.conftest import ADMIN_TOKEN, _end_open_conversations, admin_headers, pydantic_client
from tests.ports import free_ports
from workflows.conversation import ConversationWorkflow

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.asyncio

SHOTS = Path(__file__).parent.parent / "test-output" / "screenshots"
TIMEOUT_MS = 15_000
EXPECTED_HTTP_ERRORS = re.compile(r"Failed to load resource: .* status of (404|409|422) ")
"""Refusals the test provokes on purpose (a bad field, a bad date, an unknown extension) are
logged by Chromium as "Failed to load resource"; any other console error fails the test."""

FLOW = """\
# Bot da Loja (teste de navegador): o horário é checado pelas telas, não pelo relógio do teste.
bot: loja
human_service:                       # "Atendimento Humano"
  platform: omni_v2
  omni_key: ${BROWSER_TEST_UNSET_OMNI_KEY}
  wait_time_notice: never
channels:
  web: true                          # the web chat of this test
start: inicio
blocks:
  inicio: {type: message, text: "Olá! Bem-vindo à Loja.", next: menu}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Falar com um especialista, next: humano}
      - {label: Encerrar, next: fim}
  humano:
    type: human
    service: Suporte                   # "Fila de atendimento"
    text: Vou te transferir para um especialista.
    show_agent_name: true
    check_hours: false                 # the test must not depend on the clock
    on: {finished: depois, closed: fim, unavailable: indisponivel, voicemail: fim}
    next: fim
  depois: {type: message, text: "Obrigado por falar com {{ agent.name }}. Algo mais?", next: menu}
  indisponivel: {type: end, text: Atendimento humano indisponível.}
  fim: {type: end, text: Obrigado pelo contato!}
"""


def free_port() -> int:
    """A port free now, outside the ephemeral range (tests/ports.py)."""
    return free_ports(1)[0]


@asynccontextmanager
async def live_server(env, settings, engine) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """Worker + the API served over real HTTP by uvicorn on a free loopback port."""
    from api.app import create_app
    from worker import build_worker, channel_endpoints_of

    client = pydantic_client(env)
    with ThreadPoolExecutor(max_workers=8) as executor:
        endpoints = channel_endpoints_of(settings)
        async with build_worker(
            client, engine, settings.task_queue, executor, channel_endpoints=endpoints
        ):
            app = create_app(settings, engine=engine, client=client)
            port = free_port()
            config = uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=1,
                http=CoalescedHttpToolsProtocol,  # as `transbordo api` serves
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                await _end_open_conversations(client, engine)
                server.should_exit = True
                await task


class Console:
    """Every console error and uncaught exception of every page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:  # type: ignore[no-untyped-def]
        name = page.url

        def on_console(message) -> None:  # type: ignore[no-untyped-def]
            if message.type == "error" and not EXPECTED_HTTP_ERRORS.search(message.text):
                where = message.location.get("url") or page.url  # the failed resource's URL
                self.errors.append(f"{name}: {message.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{name}: {error}"))


async def signed_in_agent(context, console: Console, token: str, *, available: bool = True):  # type: ignore[no-untyped-def]
    """A new page on the agent screen, signed in with `token` and, unless told otherwise, made
    available; each test then waits for what it needs to see."""
    agent = await context.new_page()
    console.watch(agent)
    await agent.goto("/atendimento")
    await agent.get_by_label("Token do atendente").fill(token)
    await agent.get_by_role("button", name="Entrar").click()
    if available:
        await agent.locator(".segmented label", has_text="Disponível").click()
    return agent


async def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def browser(chromium):  # type: ignore[no-untyped-def]
    """The session's Chromium (tests/conftest.py `chromium`); every context a test opens in it
    is closed after the test, so each test starts with no cookies, storage or pages."""
    try:
        yield chromium
    finally:
        for context in chromium.contexts:
            await context.close()


async def test_the_seeds_seven_steps_then_a_handoff_through_the_pages(
    time_env, settings, engine, browser
):
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with live_server(time_env, settings, engine) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            for service in (
                {"name": "Financeiro", "extension": "200"},
                {"name": "Diretoria", "extension": "300", "hidden": True},
            ):
                made = await http.post("/api/omni/services", json=service, headers=admin_headers())
                assert made.status_code == 201, made.text

        context = await browser.new_context(
            locale="pt-BR", viewport={"width": 1366, "height": 850}, base_url=base
        )
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        admin = await context.new_page()
        console.watch(admin)
        admin.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))

        # 1. Digital Contact Bots → Bots → Criar novo bot: Nome do bot and the flow in YAML
        await admin.goto("/bots")
        await expect(admin.get_by_role("heading", name="Entrar como administrador")).to_be_visible()
        await admin.get_by_label("Token de administrador").fill(ADMIN_TOKEN)
        await admin.get_by_role("button", name="Entrar").click()
        await expect(admin.locator("#bots")).to_contain_text("Nenhum bot publicado")
        await admin.get_by_role("button", name="Criar novo bot").click()
        create = admin.locator("#bot-form")
        source = create.get_by_label("Fluxo (YAML)")
        await expect(source).to_have_value(re.compile(r"type: human"))  # the starter flow
        await create.get_by_label("Nome do bot").fill("loja")
        await expect(source).to_have_value(re.compile(r"^bot: loja$", re.M))
        await expect(source).to_have_value(re.compile(r"\$\{LOJA_OMNI_KEY\}"))
        broken = FLOW.replace("{label: Encerrar, next: fim}", "{label: Encerrar, next: fimm}")
        line = broken.splitlines().index("      - {label: Encerrar, next: fimm}") + 1
        await source.fill(broken)
        await create.get_by_role("button", name="Salvar").click()
        issue = create.locator(".issue-list .issue")
        await expect(issue).to_have_count(1)
        await expect(issue).to_contain_text(f"Linha {line}, coluna")
        await expect(issue).to_contain_text("fimm")
        await expect(create.locator(".gutter .bad")).to_have_text(str(line))
        await expect(create.locator(".form-error")).to_contain_text("problemas")
        await issue.get_by_role("button").press("Enter")  # keyboard: to the line of the problem
        await expect(source).to_be_focused()
        cursor_line = await source.evaluate(
            "(t) => t.value.slice(0, t.selectionStart).split('\\n').length"
        )
        assert cursor_line == line
        await shot(admin, "00-criar-bot-erro")
        await source.fill(FLOW)
        await create.get_by_role("button", name="Salvar").click()
        created = admin.locator("#created")
        await expect(created).to_contain_text("Bot loja criado")
        await expect(created).to_contain_text("versão 1")
        await expect(created.locator(".notice.warn")).to_contain_text(
            "${BROWSER_TEST_UNSET_OMNI_KEY} não está definida"
        )
        await expect(admin.locator("#bots tr[data-bot='loja']")).to_contain_text("1")
        await expect(admin.locator("#create")).to_be_hidden()
        await shot(admin, "00-bot-criado")

        # 2. Omni → Administrativo → Serviços → Novo Serviço (the admin token is kept in the tab)
        await admin.goto("/omni/servicos")
        await expect(admin.locator("#services tr[data-service='Financeiro']")).to_be_visible()
        await admin.get_by_role("button", name="Novo Serviço").click()
        form = admin.locator("#service-form")
        await form.get_by_label("Nome", exact=True).fill("Suporte")
        await form.get_by_label("Atendimento (%)").fill("150")
        await form.get_by_label("Tempo Atendimento (s)").fill("60")
        await form.get_by_label("Tempo Abandono (s)").fill("600")
        await form.get_by_label("Tempo de Caixa Postal (s)").fill("60")
        await form.get_by_label("Ramal", exact=True).fill("100")
        await form.get_by_label("Agrupar serviços para transferência").check()
        await form.get_by_label("Financeiro").check()
        await form.get_by_label("Notificar usuário na fila de espera").check()
        await form.get_by_label("Título").fill("Enquanto você espera")
        await form.get_by_label("Texto").fill("Conheça nossas ofertas da semana.")
        await form.get_by_role("button", name="Salvar").click()
        error = form.locator("[data-field='service_level_percent'] .field-error")
        await expect(error).to_have_text("Deve ser no máximo 100.")
        await shot(admin, "01-novo-servico-erro")
        await form.get_by_label("Atendimento (%)").fill("80")
        # a name already taken: the page says it in pt-BR next to "Nome", by the error's code
        await form.get_by_label("Nome", exact=True).fill("Financeiro")
        await form.get_by_role("button", name="Salvar").click()
        taken = form.locator("[data-field='name'] .field-error")
        await expect(taken).to_have_text("Já existe um serviço chamado “Financeiro”.")
        name = form.get_by_label("Nome", exact=True)
        await expect(name).to_have_attribute("aria-invalid", "true")
        await name.fill("Suporte")
        await form.get_by_role("button", name="Salvar").click()
        row = admin.locator("#services tr[data-service='Suporte']")
        await expect(row).to_contain_text("100")
        await expect(row).to_contain_text("Transfere para: Financeiro")
        await shot(admin, "02-servicos")

        # agents work the Tela de Atendimento with a token made here; Ana works both queues
        await admin.goto("/omni/agentes")
        await admin.get_by_role("button", name="Novo atendente").click()
        await admin.locator("#agent-form").get_by_label("Nome").fill("Ana")
        await admin.locator("#agent-form").get_by_label("Suporte").check()
        await admin.locator("#agent-form").get_by_label("Financeiro").check()
        await admin.locator("#agent-form").get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#token-value")).to_have_value(re.compile(r"^tba_"))
        agent_token = await admin.locator("#token-value").input_value()
        await shot(admin, "03-atendentes")

        # 3. Integrações → Digital Contact Bots → Configurar → Criar novo → Salvar → Copiar API Key
        await admin.goto("/omni/integracoes")
        await shot(admin, "04-integracoes")
        await admin.get_by_role("link", name="Configurar").click()
        await admin.get_by_role("button", name="Criar novo").click()
        await admin.get_by_label("Serviço").select_option("Suporte")
        await admin.get_by_label("Nome bot").fill("loja")
        await expect(admin.get_by_label("API KEY")).to_have_value("")
        await admin.get_by_role("button", name="Salvar").click()
        await expect(admin.get_by_label("API KEY")).to_have_value(re.compile(r"^tbk_"))
        key = await admin.get_by_label("API KEY").input_value()
        await shot(admin, "05-integracao-criada")
        await admin.get_by_role("button", name="Voltar para a lista").click()
        await (
            admin.locator("tr[data-bot='loja']")
            .get_by_role("button", name="Copiar API Key")
            .click()
        )
        await expect(admin.locator("#toast")).to_contain_text("API Key copiada")
        assert await admin.evaluate("navigator.clipboard.readText()") == key
        await shot(admin, "06-digital-contact-bots")

        # 4. Bots → loja → Atendimento Humano: Omni v2, Chave Omni, Avisar apenas uma vez
        await admin.goto("/bots")
        await admin.get_by_role("link", name="Atendimento Humano").click()
        await expect(admin.locator("#version-line")).to_have_text("Versão 1 publicada")
        await expect(admin.locator("#key-state")).to_contain_text("não está definida")
        human = admin.locator("#human-form")
        await human.get_by_label("Selecione a plataforma de atendimento").select_option("omni_v2")
        await human.get_by_label("Chave Omni").fill(key)
        await human.get_by_label("Avisar apenas uma vez").check()
        await human.get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#version-line")).to_have_text("Versão 2 publicada")
        await expect(admin.locator("#key-state")).to_contain_text("Chave configurada")
        await expect(human.get_by_label("Chave Omni")).to_have_attribute(
            "placeholder", "configurada"
        )
        await expect(admin.locator("#published .notice.warn")).to_have_count(0)

        # 5. Horário de atendimento: Monday to Friday 08–18, Saturday 09–13
        hours = admin.locator("#hours-form")
        await hours.get_by_label("Definir dias e horários").check()  # the bot had no hours
        for day in ["mon", "tue", "wed", "thu", "fri"]:
            await hours.locator(f"#open-{day}").check()
        await hours.locator("#open-sat").check()
        sat = hours.locator("tr[data-day='sat'] .window")
        await sat.locator("input").nth(0).fill("09:00")
        await sat.locator("input").nth(1).fill("13:00")
        await hours.locator("tr[data-day='sun'] input[type=checkbox]").uncheck()
        await hours.get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#version-line")).to_have_text("Versão 3 publicada")

        # 6. Dias de folga: a bad date is refused next to the field, then Natal
        await admin.get_by_role("button", name="Adicionar dia de folga").click()
        await admin.get_by_label("Data do dia de folga 1").fill("2026-12-32")
        await admin.get_by_label("Nome do dia de folga 1").fill("Natal")
        await admin.locator("#holidays-form").get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#holidays-form .field-error")).to_contain_text(
            "Data de folga inválida: 2026-12-32"
        )  # in pt-BR, no YAML line: the form's operator never saw YAML
        await admin.get_by_label("Data do dia de folga 1").fill("12-25")
        await admin.locator("#holidays-form").get_by_role("button", name="Salvar").click()
        await expect(admin.locator("#version-line")).to_have_text("Versão 4 publicada")

        # 7. the flow, with the Humano block highlighted; the YAML is the source of truth
        humano = admin.locator(".block.human")
        await expect(humano).to_have_count(1)
        await expect(humano).to_contain_text("Fila de atendimento: Suporte")
        async with admin.expect_download() as download_info:
            await admin.get_by_role("button", name="Baixar YAML").click()
        download = await download_info.value
        yaml_text = Path(await download.path()).read_text()
        assert download.suggested_filename == "loja.yaml"
        assert "# Bot da Loja (teste de navegador)" in yaml_text
        assert 'mon-fri: ["08:00-18:00"]' in yaml_text and 'sat: ["09:00-13:00"]' in yaml_text
        assert '{date: "12-25", name: Natal}' in yaml_text
        assert "wait_time_notice: once" in yaml_text and key not in yaml_text
        await shot(admin, "07-atendimento-humano")

        # the YAML edited on the bot's page: the editor holds the newest source (key masked);
        # saving it publishes version 5 and keeps the key
        edit = admin.locator("#yaml-form")
        editor = edit.get_by_label("Fluxo (YAML)")
        assert await editor.input_value() == yaml_text
        await editor.fill(yaml_text.replace("text: Obrigado pelo contato!", "text: ["))
        await edit.get_by_role("button", name="Salvar").click()
        await expect(edit.locator(".issue-list .issue")).to_contain_text("Linha")
        await expect(admin.locator("#version-line")).to_have_text("Versão 4 publicada")
        edited = yaml_text.replace("Obrigado pelo contato!", "Obrigado pelo contato! Volte sempre.")
        await editor.fill(edited)
        await editor.press("Control+Enter")
        await expect(admin.locator("#version-line")).to_have_text("Versão 5 publicada")
        await expect(edit.locator(".issue-list .issue")).to_have_count(0)
        await expect(edit.locator(".issues .notice.ok")).to_have_text("Versão 5 publicada.")
        await expect(admin.locator("#key-state")).to_contain_text("Chave configurada")
        await expect(admin.locator("#published .notice.warn")).to_have_count(0)
        await expect(editor).to_have_value(edited)
        await shot(admin, "07b-editar-yaml")

        # the agent logs in and goes available before the customer arrives (with nobody
        # available, Suporte's Caixa Postal would take the customer)
        agent = await context.new_page()
        console.watch(agent)
        await agent.goto("/atendimento")
        await agent.get_by_label("Token do atendente").fill(agent_token)
        await agent.get_by_role("button", name="Entrar").click()
        await expect(agent.locator("#agent-line")).to_contain_text("Ana")
        await agent.locator(".segmented label", has_text="Disponível").click()
        await expect(agent.locator("#toast")).to_contain_text("Disponível")
        await expect(agent.locator("#live")).to_have_text("ao vivo")

        # the customer, in the web chat, reaches the Humano block
        customer = await context.new_page()
        console.watch(customer)
        await customer.set_viewport_size({"width": 480, "height": 820})
        await customer.goto("/chat/loja")
        await customer.get_by_label("Mensagem", exact=True).fill("oi")
        await customer.get_by_role("button", name="Enviar").click()
        await expect(customer.locator(".msg.bot").first).to_have_text("Olá! Bem-vindo à Loja.")
        await expect(customer.locator(".msg.customer")).to_have_text("oi")
        await customer.get_by_role("button", name="Falar com um especialista").click()
        await expect(customer.locator(".msg.bot", has_text="Vou te transferir")).to_be_visible()
        await expect(customer.locator(".wait")).to_contain_text("Tempo estimado de espera")
        await shot(customer, "08-web-chat-na-fila")

        # the agent sees the queue live and picks the conversation up
        group = agent.locator(".queue-group[data-service='Suporte']")
        await expect(group).to_contain_text("1 aguardando")
        await shot(agent, "09-tela-de-atendimento-fila")
        await agent.get_by_role("button", name="Atender próximo").click()
        transcript = agent.locator("#transcript")
        await expect(transcript.locator(".msg.customer").first).to_contain_text("oi")
        await expect(transcript).to_contain_text("Vou te transferir para um especialista.")
        await expect(group).to_contain_text("0 aguardando")

        # they talk both ways, live on both screens
        await agent.get_by_label("Mensagem ao cliente").fill("Olá, sou a Ana. Como posso ajudar?")
        await agent.get_by_label("Mensagem ao cliente").press("Enter")
        said = customer.locator(".msg.agent", has_text="Olá, sou a Ana")
        await expect(said).to_be_visible()
        await expect(said.locator(".who")).to_have_text("Ana")
        await expect(customer.locator(".msg.system", has_text="Ana")).to_be_visible()
        await customer.get_by_label("Mensagem", exact=True).fill("Quero trocar um produto")
        await customer.get_by_label("Mensagem", exact=True).press("Enter")
        await expect(
            transcript.locator(".msg.customer", has_text="trocar um produto")
        ).to_be_visible()
        await shot(agent, "10-tela-de-atendimento-conversa")
        await shot(customer, "11-web-chat-com-atendente")

        # a refused transfer shows its reason; an unknown extension too
        transfer = agent.locator("#transfer-form")
        await transfer.get_by_label("ou Ramal").fill("999")
        await transfer.get_by_role("button", name="Transferir").click()
        await expect(transfer.locator(".form-error")).to_contain_text("recusada")
        await transfer.get_by_label("ou Ramal").fill("")

        # the supervisor sees the conversation in service and Ana's load
        supervisor = admin  # the same tab: the admin token lives in its sessionStorage
        await supervisor.goto("/supervisor")
        suporte = supervisor.locator("tr[data-service='Suporte']")
        await expect(suporte.locator("td").nth(1)).to_have_text("1")  # in service
        await expect(supervisor.locator("#agent-rows")).to_contain_text("1 / 1")
        await shot(supervisor, "12-supervisor")

        # the transfer offers what the rules allow: Suporte's group is Financeiro only
        # (Diretoria is hidden, Suporte is where it is)
        targets = transfer.get_by_label("Serviço")
        await expect(targets.locator("option")).to_have_text(
            ["Escolha um serviço…", "Financeiro — ramal 200"]
        )
        await targets.select_option("Financeiro")
        await transfer.get_by_role("button", name="Transferir").click()
        await expect(agent.locator("#toast")).to_contain_text("transferida para Financeiro")
        await expect(agent.locator("#no-conversation")).to_be_visible()
        financeiro = agent.locator(".queue-group[data-service='Financeiro']")
        await expect(financeiro).to_contain_text("1 aguardando")
        await shot(agent, "12b-tela-de-atendimento-transferida")
        await financeiro.get_by_role("button", name=re.compile("^Atender conversa")).click()
        await expect(agent.locator("#conv-info")).to_contain_text("Serviço Financeiro")
        await expect(targets.locator("option")).to_have_text(  # Financeiro has no group
            ["Escolha um serviço…", "Suporte — ramal 100"]
        )
        await expect(
            transcript.locator(".msg.customer", has_text="trocar um produto")
        ).to_be_visible()
        await targets.select_option("Suporte")
        await shot(agent, "12c-tela-de-atendimento-transferir")
        await targets.select_option("")

        # the agent hands the customer back to the bot, and the bot goes on
        await agent.get_by_role("button", name="Finalizar e voltar ao bot").click()
        await expect(agent.locator("#no-conversation")).to_be_visible()
        await expect(customer.locator(".msg.system", has_text="encerrado")).to_be_visible()
        await expect(
            customer.locator(".msg.bot", has_text="Obrigado por falar com Ana. Algo mais?")
        ).to_be_visible()
        await customer.locator(".msg.menu").last.get_by_role("button", name="Encerrar").click()
        await expect(
            customer.locator(".msg.bot", has_text="Obrigado pelo contato! Volte sempre.")
        ).to_be_visible()  # version 5, edited on the bot's page
        await expect(customer.locator("#status-line")).to_contain_text("Conversa encerrada")
        await shot(customer, "13-web-chat-de-volta-ao-bot")
        await expect(suporte.locator("td").nth(2)).to_contain_text("1 (1 no prazo)")
        await shot(supervisor, "14-supervisor-depois")

        # nobody available: the next customer leaves a message in Suporte's Caixa Postal
        await agent.locator(".segmented label", has_text="Offline").click()
        await expect(agent.locator("#toast")).to_contain_text("Offline")
        await customer.get_by_role("button", name="Nova conversa").click()
        await customer.get_by_label("Mensagem", exact=True).fill("oi")
        await customer.get_by_label("Mensagem", exact=True).press("Enter")
        await customer.get_by_role("button", name="Falar com um especialista").click()
        await expect(customer.locator(".msg.bot", has_text="Deixe sua mensagem")).to_be_visible()
        await customer.get_by_label("Mensagem", exact=True).fill("Meu pedido 123 não chegou.")
        await customer.get_by_label("Mensagem", exact=True).press("Enter")
        # accepted by the conversation (numbered), not just pending on the page: only then may
        # the test skip the Caixa Postal's 60 s, or the window could close before it arrives
        accepted = customer.locator(".msg.customer[data-seq]", has_text="pedido 123")
        await expect(accepted).to_be_visible()
        conversation_id = await customer.evaluate(
            "localStorage.getItem('transbordo.chat.loja.conversation')"
        )
        with engine.connect() as conn:
            workflow_id = conn.execute(
                sa.select(conversations.c.workflow_id).where(conversations.c.id == conversation_id)
            ).scalar_one()
        handle = pydantic_client(time_env).get_workflow_handle_for(
            ConversationWorkflow.run, workflow_id
        )
        async with time_env.time_skipping_unlocked():  # the 60 s of Caixa Postal pass
            assert (await handle.result()).status == "ended"
        await expect(
            customer.locator(".msg.bot", has_text="Recebemos sua mensagem")
        ).to_be_visible()
        await shot(customer, "15-web-chat-caixa-postal")

        # Omni → Caixa Postal: the message, filtered by service, with its conversation
        await admin.goto("/omni/caixa-postal")
        message = admin.locator("#voicemails tr[data-service='Suporte']")
        await expect(message).to_have_count(1)
        await expect(message).to_contain_text("Meu pedido 123 não chegou.")
        await expect(message).to_contain_text("loja")
        await expect(admin.locator("#vm-count")).to_have_text("1 mensagem.")
        await admin.get_by_label("Serviço").select_option("Financeiro")
        await expect(admin.locator("#voicemails")).to_contain_text(
            "Nenhuma mensagem na caixa postal de Financeiro."
        )
        assert admin.url.endswith("/omni/caixa-postal?servico=Financeiro")
        await admin.get_by_label("Serviço").select_option("Suporte")
        await expect(message).to_have_count(1)
        await message.get_by_role("button", name="Ver conversa").click()
        dialog = admin.locator("#conversation-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator(".msg.bot", has_text="Deixe sua mensagem")).to_be_visible()
        await shot(admin, "16-caixa-postal-conversa")
        await admin.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await shot(admin, "16-caixa-postal")

        await context.close()
    assert console.errors == []
