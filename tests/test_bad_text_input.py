"""Bad input never gives a 500 nor puts personal data in the logs.

A JSON body may spell a lone UTF-16 surrogate (`"\\ud800"`): Python decodes it into a string
that cannot be written as UTF-8 (not in a response, a log, SQL or a Temporal payload). Such a
body is refused at the door, for every route, with the documented 422 naming the field; a
connector's contact fields (a CPF) are never echoed back nor logged; and an error nobody
expected is still a JSON 500 `{detail, code}` whose log names no request value. Over a real
uvicorn, so a dropped keep-alive connection shows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.conftest import admin_headers, pydantic_client
from tests.live import DEADLINE_SECONDS, serving
from transbordo.connector_auth import ConnectorAuth
from transbordo.settings import Settings

CPF = "98765432100"
BOT = """
bot: loja
channels: {web: true}
start: fim
blocks:
  fim: {type: end, text: "Até logo."}
"""
JSON = {"Content-Type": "application/json"}


@dataclass
class Served:
    http: httpx.AsyncClient
    app: FastAPI
    web: dict[str, str]
    """A web session's Authorization header (the public chat's customer)."""


class Lines(logging.Handler):
    """Every record of the process's loggers as `api.log` would hold it (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def logged() -> Iterator[Lines]:
    """The root logger's records and uvicorn's (which does not propagate to the root)."""
    lines = Lines()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(lines)
    try:
        yield lines
    finally:
        for logger in loggers:
            logger.removeHandler(lines)


@pytest.fixture
async def served(
    settings: Settings, engine: sa.Engine, time_env: WorkflowEnvironment
) -> AsyncIterator[Served]:
    """The app behind real uvicorn (no worker: nothing here reaches a conversation), the bot
    published with its web chat, one keep-alive connection for every request."""
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with (
        serving(app) as base_url,
        httpx.AsyncClient(
            base_url=base_url,
            timeout=DEADLINE_SECONDS,
            auth=ConnectorAuth(engine),
            limits=httpx.Limits(max_connections=1),
        ) as http,
    ):
        yaml = {**admin_headers(), "Content-Type": "application/yaml"}
        published = await http.put("/api/bots/loja", content=BOT, headers=yaml)
        assert published.status_code == 201, published.text
        session = await http.post("/api/bots/loja/web-sessions")
        assert session.status_code == 201, session.text
        web = {"Authorization": f"Bearer {session.json()['token']}"}
        yield Served(http, app, web)


def client_port(answer: httpx.Response) -> int:
    """The local port of the connection that carried `answer`."""
    return int(answer.extensions["network_stream"].get_extra_info("client_addr")[1])


async def refused_422(served: Served, path: str, raw: str, headers: dict[str, str]) -> dict:
    """POST `raw` (JSON text, escapes as written): a 422 `validation_error` in the documented
    shape, and the same connection answers the next request."""
    answer = await served.http.post(path, content=raw.encode(), headers={**JSON, **headers})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"detail", "code"} and body["code"] == "validation_error", body
    assert isinstance(body["detail"], list) and body["detail"], body
    for item in body["detail"]:
        assert {"loc", "msg", "type"} <= set(item), item
    again = await served.http.get("/api/bots", headers=admin_headers())
    assert again.status_code == 200, again.text
    assert client_port(again) == client_port(answer), "the connection was dropped"
    return body


def locs(body: dict) -> list[list[str | int]]:
    return [item["loc"] for item in body["detail"]]


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ('{"text": "\\ud800x", "message_id": "s1"}', ["body", "text"]),
        ('{"text": "oi", "message_id": "s\\udfff1"}', ["body", "message_id"]),
        ('{"text": "oi", "message_id": "s1", "contact": {"name": "Z\\ud83d"}}',
         ["body", "contact", "name"]),
    ],
)  # fmt: skip
async def test_a_lone_surrogate_on_the_public_chat_is_a_422(served, raw, loc) -> None:  # type: ignore[no-untyped-def]
    with logged() as log:
        body = await refused_422(served, "/api/bots/loja/messages", raw, served.web)
        unauthenticated = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert locs(body) == [loc] == locs(unauthenticated)
    assert "Traceback" not in log.text, log.text


async def test_a_lone_surrogate_in_a_contact_is_a_422_that_leaks_no_cpf(served) -> None:  # type: ignore[no-untyped-def]
    raw = (
        '{"text": "oi", "message_id": "sg2", "contact_id": "5511988887777",'
        f' "contact": {{"name": "Ze", "cpf": "{CPF}", "apelido": "Z\\ud83d"}}}}'
    )
    with logged() as log:
        body = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert locs(body) == [["body", "contact", "apelido"]]
    assert CPF not in str(body) and "5511988887777" not in str(body)
    assert CPF not in log.text and "Traceback" not in log.text, log.text
    # a key with one: its place is still named, in text that can be written
    raw = '{"text": "oi", "message_id": "sg3", "contact_id": "5511", "contact": {"x\\udc00": "1"}}'
    body = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert locs(body) == [["body", "contact", "x\ufffd"]]


async def test_a_contact_field_the_model_refuses_is_not_echoed(served) -> None:  # type: ignore[no-untyped-def]
    """A contact over its limits was echoed whole (`input`: every field, the CPF too)."""
    raw = (
        '{"text": "oi", "message_id": "sg4", "contact_id": "5511988887777",'
        f' "contact": {{"cpf": "{CPF}", "obs": "{"y" * 600}"}}}}'
    )
    with logged() as log:
        body = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert locs(body) == [["body", "contact"]]
    assert "input" not in body["detail"][0], body
    assert CPF not in str(body) and CPF not in log.text


async def test_a_lone_surrogate_on_an_admin_route_is_a_422(served) -> None:  # type: ignore[no-untyped-def]
    with logged() as log:
        body = await refused_422(
            served, "/api/omni/services", '{"name": "\\ud800"}', admin_headers()
        )
    assert locs(body) == [["body", "name"]]
    assert "Traceback" not in log.text, log.text


async def test_surrogate_pairs_and_escaped_backslashes_are_text(served) -> None:  # type: ignore[no-untyped-def]
    """An emoji as a pair of escapes (what Python's `json.dumps` sends by default) and a literal
    backslash before `ud800` are valid text, not refused."""
    raw = '{"name": "Suporte \\ud83d\\ude00", "extension": "101"}'
    made = await served.http.post(
        "/api/omni/services", content=raw, headers={**JSON, **admin_headers()}
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "Suporte \U0001f600"
    raw = '{"name": "C:\\\\ud800", "extension": "102"}'
    made = await served.http.post(
        "/api/omni/services", content=raw, headers={**JSON, **admin_headers()}
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "C:\\ud800"


async def test_an_unexpected_error_is_a_json_500_that_logs_no_request_value(served) -> None:  # type: ignore[no-untyped-def]
    """A route that fails in a way nobody planned (here one added for the test, whose exception
    message holds the body) answers the house shape; the log says where, not what was sent."""

    async def failing(request: Request) -> None:
        raise RuntimeError(f"could not handle {(await request.body()).decode()}")

    served.app.add_api_route("/api/test-failing", failing, methods=["POST"])
    with logged() as log:
        answer = await served.http.post("/api/test-failing", json={"cpf": CPF})
    assert answer.status_code == 500, answer.text
    assert answer.json() == {"detail": "unexpected server error", "code": "http_error"}
    assert CPF not in log.text, log.text
    assert "RuntimeError" in log.text and "/api/test-failing" in log.text, log.text
    again = await served.http.get("/api/bots", headers=admin_headers())
    assert again.status_code == 200 and client_port(again) == client_port(answer)


async def test_a_connector_message_without_contact_id_is_a_422_on_the_field(served) -> None:  # type: ignore[no-untyped-def]
    """docs/omni.md: a 422's `detail` is the list of `{loc, msg, type}` (it was a string)."""
    raw = '{"text": "oi", "message_id": "c1"}'
    body = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert body["detail"] == [
        {"type": "missing", "loc": ["body", "contact_id"], "msg": body["detail"][0]["msg"]}
    ]
