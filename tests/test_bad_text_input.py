"""Bad input never gives a 500 nor puts personal data in the logs.

A JSON body may spell a lone UTF-16 surrogate (`"\\ud800"`): Python decodes it into a string
that cannot be written as UTF-8 (not in a response, a log, SQL or a Temporal payload). Such a
body is refused at the door, for every route, with the documented 422 naming the field; a
connector's contact fields (a CPF) are never echoed back nor logged; and an error nobody
expected is still a JSON 500 `{detail, code}` whose log names no request value. Over a real
uvicorn, so a dropped keep-alive connection shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, StreamingResponse
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from channels.signatures import whatsapp_signature
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, standin
from tests.conftest import admin_headers, pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, eventually, serving
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
SECRET = "0123456789abcdef0123456789abcdef"


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


# ------------------------------------------------------- review rev5: cost, raw bodies, logs


def numbers_body(depth: int, size: int = 64 * 1024, tail: str = "") -> bytes:
    """The review's worst case: `size` bytes, `depth` lists deep, tens of thousands of numbers,
    with an emoji as a pair of escapes (so the body has the bytes a lone surrogate needs)."""
    head = '{"s": "\\ud83d\\ude00", "a": ' + "[" * depth
    end = tail + "]" * depth + "}"
    count = (size - len(head) - len(end)) // 2
    return (head + ",".join(["0"] * count) + end).encode()


def test_a_large_body_without_a_lone_surrogate_is_never_walked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """64 KiB, 900 deep, 31,000 nodes, anonymous: parsed and encoded at C speed, never walked
    in Python (the walk copied the whole path per node: 0.5 s of a blocked event loop)."""
    from api import edge

    def walked(value: object) -> tuple[list[str | int] | None, int]:
        raise AssertionError("the Python walk was reached for a body without a lone surrogate")

    monkeypatch.setattr(edge, "locate", walked)
    assert edge.surrogate_at(numbers_body(900)) is None


def test_the_walk_visits_each_node_once_with_no_copied_path() -> None:
    """With a lone surrogate at the very end of the worst case, each node is visited once (the
    path is built once, from parent links) and the place is named."""
    from api import edge

    body = numbers_body(900, tail=',"\\ud800"')
    value = json.loads(body)
    inner = value["a"]
    for _ in range(899):
        inner = inner[0]
    nodes = 2 + 2 + 900 + len(inner)  # the object, "s" and its string, "a", the lists, the rest
    path, visited = edge.locate(value)
    assert path == ["a", *[0] * 899, len(inner) - 1]
    assert visited <= nodes, (visited, nodes)
    assert edge.surrogate_at(body) == path


async def connect_whatsapp(served: Served) -> None:
    saved = await served.http.put(
        "/api/bots/loja/channels/whatsapp",
        json={"phone_number_id": p.PHONE_NUMBER_ID, "access_token": "EAA-t", "app_secret": SECRET},
        headers=admin_headers(),
    )
    assert saved.status_code == 200, saved.text


async def test_deep_json_to_routes_that_read_their_body_is_never_a_500(served) -> None:  # type: ignore[no-untyped-def]
    """Nested deeper than `json` reads (RecursionError, not a ValueError): a signed webhook's
    is taken and ignored (200: the platform would resend anything else), an unsigned one a
    401, the codec's a 400, an upload without Content-Type refused by its bytes."""
    await connect_whatsapp(served)
    for deep in (b"[" * 1500 + b"]" * 1500, b"[" * 1500 + b'"\\ud800"' + b"]" * 1500):
        with logged() as log:
            signature = {"X-Hub-Signature-256": whatsapp_signature(SECRET, deep), **JSON}
            taken = await served.http.post(
                "/api/channels/whatsapp/loja", content=deep, headers=signature
            )
            assert taken.status_code == 200, taken.text
            assert taken.json() == {"messages": 0, "statuses": 0}
            forged = await served.http.post("/api/channels/telegram/loja", content=deep)
            assert forged.status_code == 401, forged.text
            codec = await served.http.post(
                "/api/codec/decode", content=deep, headers={**admin_headers(), **JSON}
            )
            assert codec.status_code == 400, codec.text
            upload = await served.http.post(
                "/api/bots/loja/attachments?name=a.pdf&message_id=q1",
                content=deep,
                headers=served.web,
            )
            assert upload.status_code == 415, upload.text
        assert "Traceback" not in log.text and "answered 500" not in log.text, log.text


async def test_a_lone_surrogate_to_a_webhook_is_checked_after_its_signature(served) -> None:  # type: ignore[no-untyped-def]
    """Unsigned: a 401 counted as a failed signature (was a 422 before any check, never
    counted); the edge does not read a webhook's body."""
    await connect_whatsapp(served)
    body = json.dumps(p.whatsapp([p.wa_text("wamid.s1", f"meu cpf {CPF} \ud800")])).encode()
    assert b"\\ud800" in body
    forged = await served.http.post(
        "/api/channels/whatsapp/loja", content=body, headers={**JSON, "X-Hub-Signature-256": "x"}
    )
    assert forged.status_code == 401, forged.text


async def test_a_signed_webhook_with_a_lone_surrogate_is_taken_as_ufffd(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The platform's batch (other customers' messages with it) is taken, the customer's text
    with U+FFFD where the lone surrogate was; a 200, as for any message taken."""
    from tests.test_channel_whatsapp import ACCESS_TOKEN, post_whatsapp, wait_for, whatsapp_bot

    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            await whatsapp_bot(http, phone)
            batch = p.whatsapp([p.wa_text("wamid.sg", "oi \ud83d")], name="Ma\udc00ria")
            taken = await post_whatsapp(http, batch)
            assert taken.status_code == 200, taken.text
            assert taken.json() == {"messages": 1, "statuses": 0}, taken.text
            assert (await wait_for(phone, 2))[0] == "Olá, Ma\ufffdria!"
            with engine.connect() as conn:
                said = conn.scalar(sa.text("SELECT text FROM messages WHERE sender = 'customer'"))
            assert said == "oi \ufffd"


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ('bot: loja2\nstart: fim\nblocks:\n  fim: {type: end, text: "a\\ud800b"}\n', 4, 26),
        ('bot: loja2\nstart: fim\nblocks:\n  fim: {type: end, text: "a\\U0000D800b"}\n', 4, 26),
        ('bot: loja2\nstart: fim\nblocks:\n  fim: {type: end, text: a, "k\\udc00": 1}\n', 4, 29),
        ('bot: "loja2\\ud800"\nstart: fim\nblocks:\n  fim: {type: end, text: a}\n', 1, 6),
    ],
)
async def test_a_lone_surrogate_in_a_bot_source_is_a_flow_issue(
    served, source, line, column
) -> None:  # type: ignore[no-untyped-def]
    """Was published (201), then the bot's page and every customer message a 500."""
    yaml = {**admin_headers(), "Content-Type": "application/yaml"}
    refused = await served.http.put("/api/bots/loja2", content=source.encode(), headers=yaml)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "flow_invalid"
    surrogate = [i for i in body["detail"] if i["code"] == "invalid_text"]
    assert [(i["line"], i["column"]) for i in surrogate] == [(line, column)], body
    assert (await served.http.get("/api/bots/loja2", headers=admin_headers())).status_code == 404


async def test_deeply_nested_contact_extras_are_a_422_naming_the_limit(served) -> None:  # type: ignore[no-untyped-def]
    raw = (
        '{"text": "oi", "message_id": "d1", "contact_id": "5511",'
        ' "contact": {"x": ' + "[" * 700 + '""' + "]" * 700 + "}}"
    )
    with logged() as log:
        body = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert locs(body) == [["body", "contact"]]
    assert "16 levels" in body["detail"][0]["msg"], body
    assert "Traceback" not in log.text, log.text


async def test_a_422_never_echoes_a_query_contact_id_nor_a_message_text(served) -> None:  # type: ignore[no-untyped-def]
    too_long = CPF * 30
    upload = await served.http.post(
        f"/api/bots/loja/attachments?name=a.pdf&message_id=q2&contact_id={too_long}",
        content=b"%PDF-1.4\n",
    )
    assert upload.status_code == 422, upload.text
    assert [i["loc"] for i in upload.json()["detail"]] == [["query", "contact_id"]]
    assert CPF not in upload.text
    text = f"meu cpf é {CPF} " + "x" * 5000
    raw = json.dumps({"text": text, "message_id": "t1", "contact_id": "5511"})
    body = await refused_422(served, "/api/bots/loja/messages", raw, {})
    assert locs(body) == [["body", "text"]] and CPF not in str(body), body


async def test_a_database_error_is_logged_by_its_value_free_attributes(
    served, postgres_engine
) -> None:  # type: ignore[no-untyped-def]
    """A psycopg error keeps its sqlstate, constraint and (outside data exceptions) primary
    message; never its detail ("Key (cpf)=(...)") nor a data exception's primary (which quotes
    the value it could not read)."""
    with postgres_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE probe_cpfs (cpf text CONSTRAINT probe_cpf UNIQUE)"))
        conn.execute(sa.text("INSERT INTO probe_cpfs VALUES (:cpf)"), {"cpf": CPF})

    async def duplicate(request: Request) -> None:
        with postgres_engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO probe_cpfs VALUES (:cpf)"), await request.json())

    async def unreadable(request: Request) -> None:
        raw = postgres_engine.raw_connection()
        try:
            raw.cursor().execute("SELECT %s::uuid", [(await request.json())["cpf"]])
        finally:
            raw.close()

    served.app.add_api_route("/api/test-duplicate", duplicate, methods=["POST"])
    served.app.add_api_route("/api/test-unreadable", unreadable, methods=["POST"])
    with logged() as log:
        answer = await served.http.post("/api/test-duplicate", json={"cpf": CPF})
        assert answer.status_code == 500, answer.text
    assert "sqlstate=23505" in log.text and "constraint_name=probe_cpf" in log.text, log.text
    assert "message_primary=duplicate key value violates unique constraint" in log.text
    assert "orig=psycopg.errors.UniqueViolation" in log.text, log.text
    assert CPF not in log.text, log.text
    with logged() as log:
        answer = await served.http.post("/api/test-unreadable", json={"cpf": CPF})
        assert answer.status_code == 500, answer.text
    assert "sqlstate=22P02" in log.text and "message_primary" not in log.text, log.text
    assert CPF not in log.text, log.text


async def test_an_error_after_the_response_started_logs_no_value(served) -> None:  # type: ignore[no-untyped-def]
    """A stream that breaks, a background task that fails: logged as any unexpected error
    (types, frames), not by uvicorn with the message (a CPF in it)."""

    async def streaming(request: Request) -> StreamingResponse:
        body = (await request.body()).decode()

        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: one\n\n"
            raise RuntimeError(f"stream broke on {body}")

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def background(request: Request) -> JSONResponse:
        body = (await request.body()).decode()

        def fail() -> None:
            raise RuntimeError(f"background broke on {body}")

        return JSONResponse({"ok": True}, background=BackgroundTask(fail))

    served.app.add_api_route("/api/test-stream", streaming, methods=["POST"])
    served.app.add_api_route("/api/test-background", background, methods=["POST"])
    with logged() as log:
        with pytest.raises(httpx.RemoteProtocolError):  # the unfinished response is cut
            await served.http.post("/api/test-stream", json={"cpf": CPF})
        answer = await served.http.post("/api/test-background", json={"cpf": CPF})
        assert answer.status_code == 200, answer.text
        again = await served.http.get("/api/bots", headers=admin_headers())
        assert again.status_code == 200, again.text
    assert CPF not in log.text and "Exception in ASGI application" not in log.text, log.text
    assert "after the response started on POST /api/test-stream" in log.text, log.text
    assert "after the response started on POST /api/test-background" in log.text, log.text


async def test_an_upload_the_client_abandons_is_not_an_error(served, caplog) -> None:  # type: ignore[no-untyped-def]
    """The connection closed mid-body (a customer who closed the tab): one line at info, no
    "unexpected error" (it was logged as a 500 nobody received)."""
    url = httpx.URL(str(served.http.base_url))
    path = "/api/bots/loja/attachments?name=a.pdf&message_id=gone1"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Length: 100000\r\n"
        f"Authorization: {served.web['Authorization']}\r\n\r\n"
    )
    caplog.set_level(logging.INFO, logger="api.edge")
    with logged() as log:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        writer.write(head.encode() + b"%PDF-1.4\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

        async def said() -> str | None:
            return "went away" if "client went away" in log.text else None

        await eventually(said, "the abandoned upload logged")
    assert "unexpected error" not in log.text and "Traceback" not in log.text, log.text
    assert [line.split()[0] for line in log.lines if "went away" in line] == ["INFO"]
