"""The screens are served by the API: each page is pt-BR HTML carrying the seed's labels."""

from __future__ import annotations

import re

import pytest

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
    "/bots": ["Bots", "Digital Contact Bots"],
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
