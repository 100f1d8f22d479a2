"""An `http` block's URL: each value a template puts in is one encoded component.

A customer's answer (or any other value) can only be a path segment's or a query value's text:
`123/../../admin?x=1#` must not make the activity call `/admin` on the designer's back-end with
the flow's credentials. The template's own text and its `${NAME}` references stay as written.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from activities.http_call import BlockedAddress, checked_addresses
from bots import env_refs
from bots.limits import FlowLimits
from bots.loader import load_flow
from bots.url_templates import UnrenderableUrl, render_url
from tests.conftest import running_stack
from tests.live import json_server
from workflows import interpreter
from workflows.interpreter import FlowState

CONTEXT = {
    "trilha": "123/../../admin/users?delete=all#",
    "pontos": "..",
    "ponto": ".",
    "consulta": "a&b=c",
    "fragmento": "x#y",
    "espaco": "João da Silva",
    "acento": "ação",
    "numero": 42,
    "decimal": 1.5,
    "dolar": "${FLOW_TOKEN}",
    "porcento": "%2F%2E%2E",
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/pedidos/{{ trilha }}", "/pedidos/123%2F..%2F..%2Fadmin%2Fusers%3Fdelete%3Dall%23"),
        ("/busca?q={{ consulta }}&pag=1", "/busca?q=a%26b%3Dc&pag=1"),
        ("/p/{{ fragmento }}", "/p/x%23y"),
        ("/clientes?nome={{ espaco }}", "/clientes?nome=Jo%C3%A3o%20da%20Silva"),
        ("/p/{{ acento }}", "/p/a%C3%A7%C3%A3o"),
        ("/p/{{ numero }}/{{ decimal }}", "/p/42/1.5"),
        ("/p/{{ porcento }}", "/p/%252F%252E%252E"),
        ("/p/{{ trilha|urlencode }}", "/p/123%2F..%2F..%2Fadmin%2Fusers%3Fdelete%3Dall%23"),
        ("/p/{{ acento|urlencode }}", "/p/a%C3%A7%C3%A3o"),
        ("/p?{{ {'q': consulta, 'n': numero}|urlencode }}", "/p?q=a%26b%3Dc&n=42"),
        ("/p/{{ trilha|safe }}", "/p/123%2F..%2F..%2Fadmin%2Fusers%3Fdelete%3Dall%23"),
        ("/p/{{ 'a/' ~ numero }}", "/p/a%2F42"),
        ("/p/{{ ausente }}", "/p/"),
        ("https://crm.exemplo.com/v1/pedidos?cpf=", "https://crm.exemplo.com/v1/pedidos?cpf="),
        ("/p/{% if numero %}a/b?c=d{% endif %}", "/p/a/b?c=d"),
    ],
)
def test_a_value_is_one_component_and_the_template_text_is_kept(source, expected):
    assert render_url(source, CONTEXT) == expected


@pytest.mark.parametrize(
    "source",
    [
        "/p/{{ 'a' * 10 ** 6 }}",  # over the output bound, as `render`'s ""
        "/p/{% for i in range(10 ** 6) %}x{% endfor %}",
        "/p/{{ pontos }}/itens",  # `..` climbs however encoded (%2E%2E is `..` to WHATWG)
        "/p/{{ ponto }}/itens",
        "/p/{{ pontos|urlencode }}",
    ],
)
def test_a_url_that_cannot_be_rendered_whole_is_not_rendered_at_all(source):
    with pytest.raises(UnrenderableUrl):
        render_url(source, CONTEXT)


def test_long_answers_leave_no_url_not_its_base_with_the_credentials():
    """4,096 emoji are 49,152 characters once encoded: two of them over the output bound left
    the URL's own part "" and the call went to the bare `${FLOW_CRM}` with its token."""
    flow = load_flow(LONG_FLOW, env={"FLOW_CRM": "https://crm.exemplo.com/v1", "FLOW_TOKEN": "t"})
    state = interpreter.start(flow, FlowState(contact={"id": "c"})).state
    long = "😀" * 4096
    state = interpreter.answer(flow, state, long).state
    turn = interpreter.answer(flow, state, long)
    assert isinstance(turn.wait, interpreter.CallHttp)
    assert turn.wait.request.url == ""  # the activity refuses it: the flow's on_error
    begun = interpreter.start(flow, FlowState(contact={"id": "c"})).state
    short = interpreter.answer(flow, interpreter.answer(flow, begun, "ana").state, "x")
    assert isinstance(short.wait, interpreter.CallHttp)
    assert short.wait.request.url == "${FLOW_CRM}/clientes/123/notas?nome=ana&obs=x"


LONG_FLOW = """
bot: longa
start: nome
blocks:
  nome: {type: question, text: Nome?, save_as: nome, next: obs}
  obs: {type: question, text: Obs?, save_as: obs, next: nota}
  nota:
    type: http
    method: POST
    url: "${FLOW_CRM}/clientes/123/notas?nome={{ nome }}&obs={{ obs }}"
    headers: {Authorization: "Bearer ${FLOW_TOKEN}"}
    save_as: r
    next: fim
  fim: {type: end, text: ok}
"""


def test_references_are_kept_and_a_customers_reference_is_only_text():
    limits = FlowLimits(env_allow=("FLOW_*",))
    marked = env_refs.render_marked(
        "${FLOW_CRM_URL}/pedidos/{{ dolar }}?t=${FLOW_TOKEN}",
        lambda text: render_url(text, CONTEXT),
    )
    assert marked == "${FLOW_CRM_URL}/pedidos/%24%7BFLOW_TOKEN%7D?t=${FLOW_TOKEN}"
    env = {"FLOW_CRM_URL": "https://crm", "FLOW_TOKEN": "segredo"}
    sent = env_refs.resolve(marked, env, limits)
    assert sent == "https://crm/pedidos/%24%7BFLOW_TOKEN%7D?t=segredo"


FLOW = """
bot: urlenc
http: {allow_private_addresses: true}
start: pedido
blocks:
  pedido: {type: question, text: Qual o pedido, save_as: pedido, next: consulta}
  consulta:
    type: http
    url: "${FLOW_TEST_CRM_URL}/pedidos/{{ pedido }}"
    save_as: resposta
    next: ok
  ok: {type: end, text: "{{ resposta.body.path }}"}
"""


@pytest.fixture
def crm() -> Iterator[tuple[str, list[str]]]:
    """The designer's back-end: records the raw path of every request it gets."""
    paths: list[str] = []

    def echo(path: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
        paths.append(path)
        return {"path": path}

    with json_server(echo) as url:
        yield url, paths


@pytest.mark.asyncio
async def test_a_customers_answer_cannot_walk_out_of_the_path(
    time_env, settings, engine, crm, monkeypatch
):
    url, paths = crm
    monkeypatch.setenv("FLOW_TEST_CRM_URL", url)
    async with running_stack(time_env, settings, engine, FLOW) as http:
        say = {"contact_id": "u1", "message_id": "1", "text": "oi"}
        await http.post("/api/bots/urlenc/messages", json=say)
        typed = {**say, "message_id": "2", "text": "123/../../admin?x=1#"}
        turn = await http.post("/api/bots/urlenc/messages", json=typed)
    expected = "/pedidos/123%2F..%2F..%2Fadmin%3Fx%3D1%23"
    assert [r["text"] for r in turn.json()["replies"]] == [expected]
    assert paths == [expected]


async def test_no_url_is_refused_with_its_own_reason() -> None:
    """A designer reading `http.error` learns why the call went nowhere (review: it said "only
    http(s) URLs with a host are allowed")."""

    async def resolve(host: str, port: int) -> list[str]:
        raise AssertionError("nothing to resolve")

    with pytest.raises(BlockedAddress, match="no URL: its template failed"):
        await checked_addresses("", False, resolve)
