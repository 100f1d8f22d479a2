"""The screens are served by the API: each page is pt-BR HTML carrying the seed's labels."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.conftest import admin_headers

pytestmark = pytest.mark.asyncio

PAGES = {
    "/": ["Primeira etapa", "Sétima etapa", "Bloco de Atendimento Humano"],
    "/omni/servicos": [
        "Administrativo",
        "Serviços",
        "Novo Serviço",
        "Nome",
        "Atendimento (%)",
        "Tempo Atendimento (s)",
        "Tempo Abandono (s)",
        "Tempo de Caixa Postal (s)",
        "Ramal",
        "Habilitar Tela de Atendimento",
        "Agrupar serviços para transferência",
        "Habilitar integração Webhook Externo",
        "Desabilitar exibição do serviço",
        "Notificar usuário na fila de espera",
        "Salvar",
        # the seed's help texts
        "Identificação serviço/fila de atendimento a ser cadastrado",
        "Número interno, com 3 dígitos",
        "só poderá ser transferido para os serviços selecionados",
        "conforme a configuração dos cartões no carrossel de notificações",
    ],
    "/omni/agentes": ["Atendentes", "Novo atendente", "Capacidade"],
    "/omni/integracoes": ["Integrações", "Digital Contact Bots", "Configurar"],
    "/omni/integracoes/digital-contact-bots": [
        "Criar novo",
        "Serviço",
        "Nome bot",
        "API KEY",
        "Dado preenchido automaticamente, não sendo necessária nenhuma ação.",
        "Salvar",
    ],
    "/bots": [
        "Bots",
        "Digital Contact Bots",
        "Criar novo bot",
        "Nome do bot",
        "Fluxo (YAML)",
        "Problemas do fluxo",
        "Salvar",
        "type: human",  # the starter flow has a Humano block
    ],
    "/bots/loja/atendimento-humano": [
        "Atendimento Humano",
        "Selecione a plataforma de atendimento",
        "Omni v2",
        "Chave Omni",
        "Avisar o tempo estimado de espera",
        "Não avisar",
        "Avisar apenas uma vez",
        "Salvar",
        "Horário de atendimento",
        "Dias de folga",
        "Baixar YAML",
        "Humano",
        "Editar YAML",
        "Fluxo (YAML)",
        "Problemas do fluxo",
    ],
    "/omni/caixa-postal": [
        "Caixa Postal",
        "Serviço",
        "Todos os serviços",
        "Recebida em",
        "Mensagem",
        "Atualizar",
    ],
    "/atendimento": [
        "Tela de Atendimento",
        "Token do atendente",
        "Disponível",
        "Pausado",
        "Atender próximo",
        "Transferir",
        "Ramal",
        "Finalizar e voltar ao bot",
        "Encerrar conversa",
    ],
    "/bots/loja/canais": [
        "Canais",
        "WhatsApp",
        "Telegram",
        "ID do número de telefone",
        "Token de acesso",
        "Chave secreta do aplicativo",
        "Token de verificação do webhook",
        "Modelo para a janela de 24 horas fechada",
        "Token do bot (BotFather)",
        "Token secreto do webhook",
    ],
    "/supervisor": ["Supervisor", "Na fila", "Em atendimento", "Abandonados", "Espera estimada"],
    "/chat/loja": ["Atendimento", "loja", "Digite sua mensagem", "Enviar"],
}


@pytest.mark.parametrize("path", list(PAGES))
async def test_each_page_is_ptbr_html_with_the_seeds_labels(admin_api, path):
    page = await admin_api.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="pt-BR">' in page.text
    for label in PAGES[path]:
        assert label in page.text, (path, label)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert (await admin_api.get(asset)).status_code == 200, asset


async def test_pages_carry_no_data_and_no_token(admin_api):
    """Shells only: the data comes from the JSON API with the user's own bearer token."""
    page = await admin_api.get("/omni/servicos")
    assert "test-admin-token" not in page.text
    assert "Authorization" not in page.text


async def test_bot_name_is_escaped(admin_api):
    page = await admin_api.get("/chat/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert page.status_code == 200
    assert "<img src=x onerror=alert(1)>" not in page.text


async def test_static_files_and_vendor_free_scripts(admin_api):
    script = await admin_api.get("/static/js/common.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "readSSE" in script.text  # SSE over fetch, so tokens never travel in URLs
    assert (await admin_api.get("/static/css/app.css")).status_code == 200
    assert (await admin_api.get("/static/nothing.js")).status_code == 404
    for module in (
        "yaml_editor.js",
        "bots.js",
        "caixa_postal.js",
        "canais.js",
        "atendimento_deliveries.js",
    ):
        assert (await admin_api.get(f"/static/js/{module}")).status_code == 200, module


def starter_flow(page_html: str) -> str:
    match = re.search(r'<textarea id="b-source"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert match, "the Criar novo bot editor"
    return html.unescape(match.group(1))


async def test_the_starter_flow_of_criar_novo_bot_publishes(admin_api, monkeypatch):
    """The editor starts from a small pt-BR flow with a Humano block and no schedule; it
    publishes as it is, warning that its Omni key variable is not set yet."""
    monkeypatch.delenv("NOVO_BOT_OMNI_KEY", raising=False)
    source = starter_flow((await admin_api.get("/bots")).text)
    assert source.startswith("# Novo bot")
    assert "bot: novo-bot" in source and "type: human" in source
    assert "schedule:" not in source and "{{ contact.name }}" in source
    published = await admin_api.put(
        "/api/bots/novo-bot",
        content=source.encode(),
        headers={**admin_headers(), "Content-Type": "application/yaml"},
    )
    assert published.status_code == 201, published.text
    [warning] = published.json()["warnings"]
    assert "NOVO_BOT_OMNI_KEY" in warning
    settings = (await admin_api.get("/api/bots/novo-bot/settings", headers=admin_headers())).json()
    assert settings["blocks"]["humano"]["type"] == "human"
    assert settings["schedule"] is None
    stored = await admin_api.get("/api/bots/novo-bot/source", headers=admin_headers())
    assert stored.text == source  # comments and layout as written


@pytest.mark.parametrize("name", ["loja", "atendimento-geral"])
async def test_the_starter_flows_comments_stay_aligned_for_any_name(admin_api, name):
    """The page rewrites `bot:` and the key variable as the name is typed (bots.js): no comment
    may sit after either, or its column moves with the name's length."""
    source = starter_flow((await admin_api.get("/bots")).text)
    variable = name.upper().replace("-", "_")  # bots.js keyVariable
    source = source.replace("bot: novo-bot", f"bot: {name}")
    source = source.replace("${NOVO_BOT_OMNI_KEY}", f"${{{variable}_OMNI_KEY}}")
    start = source.index("human_service:")
    section = source[start : source.index("\n\n", start)]
    lines = [line for line in section.splitlines() if not line.lstrip().startswith("#")]
    assert len({line.index(" #") for line in lines if " #" in line}) == 1, section
    assert f"${{{variable}_OMNI_KEY}}\n" in source and f"bot: {name}\n" in source


async def test_a_yaml_with_errors_answers_issues_by_line(admin_api):
    """What the editor lists next to itself: `[{line, column, message}]`, 1-based."""
    source = "bot: loja\nstart: inicio\nblocks:\n  inicio: {type: message, text: Oi, next: nada}\n"
    refused = await admin_api.put(
        "/api/bots/loja",
        content=source.encode(),
        headers={**admin_headers(), "Content-Type": "application/yaml"},
    )
    assert refused.status_code == 422
    [issue] = refused.json()["detail"]
    assert issue["line"] == 4 and issue["column"] > 1 and "nada" in issue["message"]
    valid = source.replace("{type: message, text: Oi, next: nada}", "{type: end, text: Oi}")
    other = await admin_api.put(
        "/api/bots/outro",
        content=valid.encode(),
        headers={**admin_headers(), "Content-Type": "application/yaml"},
    )
    assert other.status_code == 422
    assert other.json()["detail"][0]["message"] == "the file is bot 'loja', not 'outro'"
    assert other.json()["detail"][0]["code"] == "bot_name_mismatch"  # what the editor says


ENGLISH_DETAILS = ("already exists", "is already used", "not with human service", "the file is bot")
"""Pieces of the API's English `detail`s the pages used to match with patterns."""


async def test_every_error_code_is_said_in_ptbr_by_the_pages():
    """The pages say an API error by its `code` (CODES_PT in common.js): every code of the three
    enumerations has its pt-BR text there, the table names no code that does not exist, and no
    page matches the API's English `detail` with a pattern any more."""
    from api.errors import ErrorCode
    from omni.errors import OmniCode
    from workflows.refusals import Refusal

    static = Path(__file__).parent.parent / "api" / "static" / "js"
    common = (static / "common.js").read_text(encoding="utf-8")
    start = common.index("export const CODES_PT = {")
    table = common[start : common.index("\n};", start)]
    said = set(re.findall(r"^  ([a-z_]+): ", table, re.M))
    codes = {c.value for c in ErrorCode} | {c.value for c in OmniCode} | {c.value for c in Refusal}
    assert said == codes, (codes - said, said - codes)
    for script in static.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        for english in ENGLISH_DETAILS:
            assert english not in text, (script.name, english)
