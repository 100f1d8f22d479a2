"""A web session cannot claim contact fields a connector vouches for (a security finding).

Anyone can open a web session; one sent `contact: {name, cpf, verified}` and a flow reading
`contact.cpf` could not tell what a customer typed from what a connector vouched for. A web
session's contact gives a name only (what the web chat's page sends): any other field is a 422
naming the field, never its value, and nothing is delivered. Connectors keep their fields.
Real HTTP on the app, real Temporal (time skipping), real SQLite.
"""

from __future__ import annotations

import httpx

from tests.conftest import admin_headers, running_stack
from tests.live import eventually

FLOW = """\
bot: loja
channels: {web: true}
start: inicio
blocks:
  inicio:
    type: message
    text: "Olá{% if contact.name %}, {{ contact.name }}{% endif %}! CPF: {{ contact.cpf }}."
    next: pergunta
  pergunta:
    type: question
    text: Qual o seu pedido?
    save_as: pedido
    next: fim
  fim: {type: end, text: "Pedido {{ pedido }} anotado."}
"""
CPF = "11111111111"


async def web_session(http: httpx.AsyncClient) -> dict[str, str]:
    opened = await http.post("/api/bots/loja/web-sessions", auth=None)
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['token']}"}


async def post(http: httpx.AsyncClient, auth: dict[str, str], body: dict) -> httpx.Response:  # type: ignore[type-arg]
    return await http.post("/api/bots/loja/messages", json=body, headers=auth)


async def test_a_web_session_gives_a_name_only(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        published = await http.put(
            "/api/bots/loja", content=FLOW, headers={**admin_headers(), "Content-Type": "text/yaml"}
        )
        assert published.status_code == 201, published.text
        session = await web_session(http)

        claimed = {"name": "Cliente VIP", "cpf": CPF, "verified": True}
        body = {"text": "oi", "message_id": "w1", "contact": claimed}
        refused = await post(http, session, body)
        assert refused.status_code == 422, refused.text
        answer = refused.json()
        assert answer["code"] == "validation_error"
        [item] = answer["detail"]
        assert item["type"] == "contact_field_not_allowed"
        assert item["loc"] == ["body", "contact"]
        assert item["ctx"] == {"field": "cpf"}
        assert "cpf" in item["msg"]
        assert CPF not in refused.text and "Cliente VIP" not in refused.text

        # nothing was delivered: the session's first message opens the conversation afresh,
        # and its transcript holds only what was taken
        named = await post(
            http, session, {"text": "olá", "message_id": "w2", "contact": {"name": "Ana"}}
        )
        assert named.status_code == 200, named.text
        assert [r["text"] for r in named.json()["replies"]][:1] == ["Olá, Ana! CPF: ."]
        conversation = named.json()["conversation_id"]
        # the refused message's id was never taken: sent again, without the fields, it is new
        again = await post(http, session, {"text": "42", "message_id": "w1"})
        assert again.status_code == 200, again.text
        assert again.json()["conversation_id"] == conversation
        assert [r["text"] for r in again.json()["replies"]] == ["Pedido 42 anotado."]

        async def transcript() -> list[tuple[str, str]] | None:
            """The log trails the reply (recorded in batches by the workflow): read until the
            last reply is there, then every customer entry is."""
            said = await http.get(f"/api/conversations/{conversation}/messages", headers=session)
            assert said.status_code == 200, said.text
            entries = said.json()
            if all(m["text"] != "Pedido 42 anotado." for m in entries):
                return None
            return [(m["text"], m["message_id"]) for m in entries if m["from"] == "customer"]

        assert await eventually(transcript, "the transcript") == [("olá", "w2"), ("42", "w1")]

        # a connector's contact keeps the fields it vouches for, as before
        made = await http.post(
            "/api/bots/loja/channel-credentials", json={"name": "CRM"}, headers=admin_headers()
        )
        assert made.status_code == 201, made.text
        connector = {"Authorization": f"Bearer {made.json()['token']}"}
        body = {"contact_id": "crm-7", "text": "oi", "message_id": "c1", "contact": claimed}
        vouched = await post(http, connector, body)
        assert vouched.status_code == 200, vouched.text
        assert vouched.json()["replies"][0]["text"] == f"Olá, Cliente VIP! CPF: {CPF}."
