"""`${VAR}` end to end: only allowed variables, and their values never stored, shown or recorded.

A loopback server stands in for the customer's back-end; the worker's activity resolves the
placeholders when it sends the request, so SQL, the API, the workflow input and its history
hold only `${NAME}`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from api.usecases.publishing import PublishError, publish_source
from store.tables import conversations
from tests.conftest import admin_headers, conversation_handle, decrypted, running_stack
from tests.live import json_server

pytestmark = pytest.mark.asyncio

TOKEN = "tok-3f9c1e-never-stored"
YAML = {**admin_headers(), "Content-Type": "application/yaml"}


def flow(header: str) -> str:
    return f"""
bot: segredos
http: {{allow_private_addresses: true}}
start: cpf
blocks:
  cpf: {{type: question, text: Qual o CPF, save_as: cpf, next: consulta}}
  consulta:
    type: http
    url: "${{FLOW_TEST_CRM_URL}}/pedidos/{{{{ cpf }}}}"
    headers: {{Authorization: "Bearer ${{{header}}}"}}
    save_as: resposta
    next: ok
  ok: {{type: end, text: "{{{{ resposta.body.auth }}}} {{{{ resposta.body.path }}}}"}}
"""


@pytest.fixture
def crm() -> Iterator[str]:
    """Answers with what it got: whether the token arrived, and the path."""

    def echo(path: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
        auth = "token-ok" if headers.get("authorization") == f"Bearer {TOKEN}" else "no"
        return {"auth": auth, "path": path}

    with json_server(echo) as url:
        yield url


async def test_an_allowed_variable_reaches_the_target_and_is_kept_nowhere(
    time_env, settings, engine, crm, monkeypatch
):
    monkeypatch.setenv("FLOW_TEST_CRM_URL", crm)
    monkeypatch.setenv("FLOW_TEST_CRM_TOKEN", TOKEN)
    async with running_stack(time_env, settings, engine, flow("FLOW_TEST_CRM_TOKEN")) as http:
        say = {"contact_id": "s1", "message_id": "1", "text": "oi"}
        await http.post("/api/bots/segredos/messages", json=say)
        typed = {**say, "message_id": "2", "text": "${FLOW_TEST_CRM_TOKEN}"}  # never resolved
        turn = await http.post("/api/bots/segredos/messages", json=typed)
        assert [r["text"] for r in turn.json()["replies"]] == [
            "token-ok /pedidos/%24%7BFLOW_TEST_CRM_TOKEN%7D"
        ]
        shown = await http.get("/api/bots/segredos", headers=admin_headers())
        assert "${FLOW_TEST_CRM_TOKEN}" in shown.text and TOKEN not in shown.text
        assert crm not in shown.text
        with engine.connect() as conn:
            [workflow_id] = conn.scalars(sa.select(conversations.c.workflow_id))
        history = await conversation_handle(time_env, workflow_id).fetch_history()
        recorded = _decoded(json.dumps(decrypted(json.loads(history.to_json()))))
        assert "FLOW_TEST_CRM_TOKEN" in recorded and TOKEN not in recorded and crm not in recorded
    meta = sa.MetaData()
    with engine.connect() as conn:
        meta.reflect(conn)
        for table in meta.tables.values():
            for row in conn.execute(sa.select(table)):
                assert TOKEN not in repr(tuple(row)), table.name


def _decoded(history_json: str) -> str:
    """The history with its payloads (base64 in the JSON form) decoded, to search as text."""
    datas = re.findall(r'"data": "([A-Za-z0-9+/=]+)"', history_json)
    return history_json + "".join(base64.b64decode(d).decode("utf-8", "replace") for d in datas)


async def test_the_service_secrets_are_refused_at_publish(engine, admin_api, monkeypatch):
    monkeypatch.setenv("TRANSBORDO_ADMIN_TOKEN", "the-admin-token-0123456789abcdefghij")
    monkeypatch.setenv("FLOW_TEST_CRM_URL", "http://127.0.0.1:9")
    with pytest.raises(PublishError) as refused:
        publish_source(engine, "segredos", flow("TRANSBORDO_ADMIN_TOKEN"))
    [issue] = refused.value.issues
    assert "TRANSBORDO_ADMIN_TOKEN is not one a flow may read" in str(issue["message"])
    answer = await admin_api.put(
        "/api/bots/segredos", content=flow("TRANSBORDO_ADMIN_TOKEN"), headers=YAML
    )
    assert answer.status_code == 422 and "the-admin-token-0123456789abcdefghij" not in answer.text
    assert (answer.json()["detail"][0]["line"], answer.json()["detail"][0]["column"]) == (10, 30)
