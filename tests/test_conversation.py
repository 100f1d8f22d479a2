"""Conversations end to end on the time-skipping test server: HTTP in, workflow, SQL log out."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.live import json_server
from tests.test_run_version import started_input
from workflows.patches import CODE_VERSION

pytestmark = pytest.mark.asyncio

LOJA = """
bot: loja
start: inicio
blocks:
  inicio: {type: message, text: "Olá, {{ contact.name }}!", next: menu}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Segunda via de boleto, next: cpf}
      - {label: Horário da loja, next: horario}
  cpf:
    type: question
    text: Qual o seu CPF?
    save_as: cpf
    pattern: '\\d{11}'
    retry_text: CPF inválido, digite só os 11 números.
    timeout_seconds: 300
    on_timeout: sumiu
    next: confirma
  confirma:
    type: condition
    branches:
      - {if: "cpf.startswith('0')", next: especial}
    else: fim
  especial: {type: message, text: CPF especial., next: fim}
  horario: {type: message, text: Abrimos às 8h., next: menu}
  sumiu: {type: end, text: Encerrando por falta de resposta.}
  fim: {type: end, text: "Boleto do CPF {{ cpf }} enviado. Obrigado!"}
"""


def say(contact: str, message_id: str, text: str, name: str | None = None) -> dict:
    body: dict = {"contact_id": contact, "message_id": message_id, "text": text}
    if name:
        body["contact"] = {"name": name}
    return body


def texts(turn: dict) -> list[str]:
    return [reply["text"] for reply in turn["replies"]]


async def test_a_conversation_walks_the_flow(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, LOJA) as http:
        first = await http.post("/api/bots/loja/messages", json=say("5511", "m1", "oi", "Ana"))
        assert first.status_code == 200, first.text
        turn = first.json()
        assert texts(turn) == [
            "Olá, Ana!",
            "Como posso ajudar?\n1. Segunda via de boleto\n2. Horário da loja",
        ]
        assert turn["replies"][1]["kind"] == "menu"
        assert turn["replies"][1]["options"] == ["Segunda via de boleto", "Horário da loja"]
        assert turn["status"] == "bot"

        turn = (await http.post("/api/bots/loja/messages", json=say("5511", "m2", "1"))).json()
        assert texts(turn) == ["Qual o seu CPF?"]
        turn = (await http.post("/api/bots/loja/messages", json=say("5511", "m3", "123"))).json()
        assert texts(turn) == ["CPF inválido, digite só os 11 números.", "Qual o seu CPF?"]
        turn = (
            await http.post("/api/bots/loja/messages", json=say("5511", "m4", "01234567890"))
        ).json()
        assert texts(turn) == ["CPF especial.", "Boleto do CPF 01234567890 enviado. Obrigado!"]
        assert turn["status"] == "ended"

        handle = conversation_handle(time_env, conversation_wid("loja", "5511"))
        await handle.result()
        conversation_id = turn["conversation_id"]
        info = (await http.get(f"/api/conversations/{conversation_id}")).json()
        assert info["status"] == "ended" and info["bot"] == "loja"
        assert "contact_id" not in info and "agent" not in info  # no identity in the answer
        transcript = (await http.get(f"/api/conversations/{conversation_id}/messages")).json()
        assert [m["seq"] for m in transcript] == list(range(1, len(transcript) + 1))
        said = [(m["from"], m["text"]) for m in transcript if m["from"] == "customer"]
        assert said == [
            ("customer", "oi"),
            ("customer", "1"),
            ("customer", "123"),
            ("customer", "01234567890"),
        ]
        later = (await http.get(f"/api/conversations/{conversation_id}/messages?after=7")).json()
        assert [m["seq"] for m in later] == [m["seq"] for m in transcript[7:]]


async def test_menu_accepts_label_ignoring_case_and_accents(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, LOJA) as http:
        await http.post("/api/bots/loja/messages", json=say("c2", "a", "oi"))
        turn = (
            await http.post("/api/bots/loja/messages", json=say("c2", "b", "HORARIO da loja"))
        ).json()
        assert texts(turn)[0] == "Abrimos às 8h."
        turn = (await http.post("/api/bots/loja/messages", json=say("c2", "c", "9"))).json()
        assert texts(turn)[0] == "Opção inválida. Escolha uma das opções."


async def test_a_replayed_message_id_returns_the_same_answer_and_changes_nothing(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine, LOJA) as http:
        await http.post("/api/bots/loja/messages", json=say("c3", "x1", "oi"))
        once = (await http.post("/api/bots/loja/messages", json=say("c3", "x2", "1"))).json()
        again = (await http.post("/api/bots/loja/messages", json=say("c3", "x2", "1"))).json()
        assert again["replies"] == once["replies"]
        handle = conversation_handle(time_env, conversation_wid("loja", "c3"))
        transcript = await handle.query("transcript", 0)
        customer = [m for m in transcript if m["sender"] == "customer"]
        assert [m["text"] for m in customer] == ["oi", "1"]


async def test_question_timeout_takes_its_branch(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, LOJA) as http:
        await http.post("/api/bots/loja/messages", json=say("c4", "1", "oi"))
        turn = (await http.post("/api/bots/loja/messages", json=say("c4", "2", "1"))).json()
        assert texts(turn) == ["Qual o seu CPF?"]
        handle = conversation_handle(time_env, conversation_wid("loja", "c4"))
        async with time_env.time_skipping_unlocked():  # the test server skips the 300 s wait
            snapshot = await handle.result()
        assert snapshot.status == "ended"
        transcript = (
            await http.get(f"/api/conversations/{turn['conversation_id']}/messages")
        ).json()
        assert transcript[-1]["text"] == "Encerrando por falta de resposta."


async def test_long_conversations_continue_as_new_keeping_state(time_env, settings, engine):
    settings.max_messages_per_run = 2
    async with running_stack(time_env, settings, engine, LOJA) as http:
        handle = conversation_handle(time_env, conversation_wid("loja", "c5"))
        await http.post("/api/bots/loja/messages", json=say("c5", "1", "oi"))
        first_run = (await handle.describe()).run_id
        for n, text in enumerate(["2", "2", "1"], start=2):
            await http.post("/api/bots/loja/messages", json=say("c5", str(n), text))
        replay = (await http.post("/api/bots/loja/messages", json=say("c5", "2", "2"))).json()
        assert texts(replay)[0] == "Abrimos às 8h."
        turn = (
            await http.post("/api/bots/loja/messages", json=say("c5", "9", "12345678901"))
        ).json()
        assert texts(turn) == ["Boleto do CPF 12345678901 enviado. Obrigado!"]
        assert (await handle.result()).variables == {"cpf": "12345678901"}
        assert (await handle.describe()).run_id != first_run
        history = await handle.fetch_history()
    # the next run continues this one at the same code version (workflows/patches.py)
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id  # a run that continued another
    next_input = await started_input(time_env, history)
    assert next_input.code_version == CODE_VERSION and next_input.carried is not None


async def test_leaving_ends_the_conversation(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, LOJA) as http:
        turn = (await http.post("/api/bots/loja/messages", json=say("c6", "1", "oi"))).json()
        left = await http.post(f"/api/conversations/{turn['conversation_id']}/leave")
        assert left.status_code == 202
        handle = conversation_handle(time_env, conversation_wid("loja", "c6"))
        assert (await handle.result()).status == "ended"
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        again = (await http.post("/api/bots/loja/messages", json=say("c6", "2", "oi"))).json()
        assert again["conversation_id"] != turn["conversation_id"]
        assert texts(again)[0] == "Olá, !"


@pytest.fixture
def api_server() -> Iterator[str]:
    """A real HTTP server on loopback standing in for a customer's back-end."""

    def order(path: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
        return {"pedido": json.loads(body or b"{}").get("cpf"), "situacao": "enviado"}

    with json_server(order) as url:
        yield url


def http_flow(url: str, allow: bool, *, stays_open: bool = False) -> str:
    """A bot whose second turn asks `url` (a loopback back-end: `allow` private addresses or
    not); `stays_open`: the answer asks one more question instead of ending (bot
    `pedidoslentos`)."""
    answer = "Pedido {{ resposta.body.pedido }}: {{ resposta.body.situacao }}"
    ok = (
        f'{{type: question, text: "{answer}. Algo mais?", save_as: mais, next: fim}}\n'
        "  fim: {type: end, text: Até logo}"
        if stays_open
        else f'{{type: end, text: "{answer}"}}'
    )
    bot = "pedidoslentos" if stays_open else f"pedidos{'abertos' if allow else 'fechados'}"
    return f"""
bot: {bot}
http: {{allow_private_addresses: {"true" if allow else "false"}}}
start: cpf
blocks:
  cpf: {{type: question, text: Qual o CPF, save_as: cpf, next: consulta}}
  consulta:
    type: http
    method: POST
    url: "{url}/pedidos"
    body: {{cpf: "{{{{ cpf }}}}"}}
    save_as: resposta
    next: ok
    on_error: erro
  ok: {ok}
  erro: {{type: end, text: "Sistema indisponível."}}
"""


async def test_http_block_calls_an_allowed_server(time_env, settings, engine, api_server):
    async with running_stack(time_env, settings, engine, http_flow(api_server, True)) as http:
        await http.post("/api/bots/pedidosabertos/messages", json=say("h1", "1", "oi"))
        turn = (
            await http.post("/api/bots/pedidosabertos/messages", json=say("h1", "2", "123"))
        ).json()
        assert texts(turn) == ["Pedido 123: enviado"]


async def test_http_block_refuses_loopback_unless_allowed(time_env, settings, engine, api_server):
    async with running_stack(time_env, settings, engine, http_flow(api_server, False)) as http:
        await http.post("/api/bots/pedidosfechados/messages", json=say("h2", "1", "oi"))
        turn = (
            await http.post("/api/bots/pedidosfechados/messages", json=say("h2", "2", "123"))
        ).json()
        assert texts(turn) == ["Sistema indisponível."]


async def test_bad_requests_get_clear_4xx(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, LOJA) as http:
        missing = await http.post("/api/bots/nada/messages", json=say("z", "1", "oi"))
        assert missing.status_code == 404 and "nada" in missing.json()["detail"]
        empty = await http.post("/api/bots/loja/messages", json=say("z", "1", ""))
        assert empty.status_code == 422
        assert empty.json()["detail"][0]["loc"][-1] == "text"
        blank = await http.post("/api/bots/loja/messages", json=say("z", "2", "   "))
        assert blank.status_code == 422
        assert "text is empty" in blank.json()["detail"][0]["msg"]
        connector = {"Authorization": f"Bearer {http.auth.token('loja')}"}
        assert (await http.get("/api/conversations/nope", headers=connector)).status_code == 404
        assert (await http.get("/api/conversations/nope")).status_code == 401  # no credential
        bad_cursor = await http.get("/api/conversations/nope/messages?after=-1", headers=connector)
        assert bad_cursor.status_code == 422
        turn = (await http.post("/api/bots/loja/messages", json=say("z", "3", "oi"))).json()
        for path in ("messages", "stream"):  # past what a seq column holds: not a 500
            url = f"/api/conversations/{turn['conversation_id']}/{path}?after={10**20}"
            assert (await http.get(url, headers=connector)).status_code == 422


async def test_a_conversation_started_before_the_keyed_hash_keeps_answering(
    time_env, settings, engine
):
    """Its workflow id holds the contact in clear (`conversation:loja:antigo`); the API finds it
    through the SQL row's workflow_id, not by building the id again."""
    import uuid

    from temporalio.service import RPCError

    from store import bots as bot_store
    from store import conversations as conversation_log
    from tests.conftest import pydantic_client
    from tests.live import eventually
    from transbordo.stack import running
    from workflows.contracts import Contact, ConversationInput, CustomerMessage
    from workflows.conversation import ConversationWorkflow

    async with running(pydantic_client(time_env), settings, engine, flows=[LOJA]) as stack:
        version = bot_store.latest(engine, "loja")
        assert version is not None
        old_id, conversation_id = "conversation:loja:antigo", uuid.uuid4().hex
        start = ConversationInput(
            conversation_id=conversation_id,
            bot="loja",
            bot_version=version.version,
            flow=version.flow,
            contact=Contact(id="antigo", name="Ana"),
        )
        await stack.client.start_workflow(
            ConversationWorkflow.run,
            start,
            id=old_id,
            task_queue=settings.task_queue,
            start_signal="deliver",
            start_signal_args=[CustomerMessage(message_id="a1", text="oi", contact=start.contact)],
        )
        conversation_log.ensure_conversation(
            engine,
            conversation_id=conversation_id,
            workflow_id=old_id,
            bot="loja",
            bot_version=version.version,
            contact_id="antigo",
            status="bot",
        )

        async def greeted():  # type: ignore[no-untyped-def]
            messages = await stack.http.get(f"/api/conversations/{conversation_id}/messages")
            return messages.json() if len(messages.json()) >= 3 else None

        await eventually(greeted, "the old conversation at the menu")
        turn = await stack.http.post("/api/bots/loja/messages", json=say("antigo", "a2", "1"))
        assert turn.status_code == 200, turn.text
        assert turn.json()["conversation_id"] == conversation_id
        assert texts(turn.json()) == ["Qual o seu CPF?"]
        with pytest.raises(RPCError):
            await stack.client.get_workflow_handle(conversation_wid("loja", "antigo")).describe()
