"""A server that stops ends its open streams whole (api/stream_drain.py): what was ready is
sent, the chunked body ends properly, and the client resumes with `Last-Event-ID` on another API
process, missing nothing and seeing nothing twice.

Before, sse-starlette cancelled every open stream as soon as it saw a uvicorn server of the
process stopping: the response ended without its last chunk (uvicorn: "ASGI callable returned
without completing response"; Chromium: `net::ERR_INCOMPLETE_CHUNKED_ENCODING`, a console error
that failed the browser tests now and then). httpx raises `RemoteProtocolError` on such a body.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from store import conversations as conversation_log
from tests.conftest import admin_headers, pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, Event, serving, sse_events
from tests.log_rows import batch
from tests.test_handoff import setup_omni
from tests.test_up import ADMIN_TOKEN, REPLY_DEADLINE_SECONDS, Customer, texts, transbordo_up
from transbordo.settings import Settings
from workflows.contracts import Message

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PATH = "/api/conversations/parada/stream"


def message(seq: int, sender: str = "bot", message_id: str | None = None) -> Message:
    return Message(seq=seq, sender=sender, text=f"m{seq}", message_id=message_id, at=AT)  # type: ignore[arg-type]


async def _rest(events, response: httpx.Response) -> list[Event]:  # type: ignore[no-untyped-def]
    """The events left in a stream whose server stopped, read to the end of its body (a body
    cut short raises httpx.RemoteProtocolError)."""
    try:
        return [event async for event in events]
    finally:
        await response.aclose()


async def test_a_stopping_server_ends_the_customer_stream_whole_and_it_resumes_elsewhere(
    engine: sa.Engine, settings: Settings, time_env: WorkflowEnvironment
) -> None:
    """The chat's stream is open when its API process stops; the bot's answer is recorded just
    then: it still arrives, the stream ends without `end` (the conversation goes on), and the
    stream resumed on another process sends only what is new, then `end`."""
    conversation_log.record_batch(engine, batch("parada", "bot", message(1, "customer", "m1")))
    client = pydantic_client(time_env)
    async with (
        httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http,
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        async with serving(create_app(settings, engine=engine, client=client)) as base_url:
            request = http.build_request("GET", base_url + PATH, headers=admin_headers())
            response = await http.send(request, stream=True)
            events = sse_events(response)
            assert (await anext(events)).id == "1"
            conversation_log.record_turn(engine, "parada", [message(2)])  # as the server stops
        rest = await _rest(events, response)  # the server has stopped
        assert [(e.event, e.data.get("seq"), e.id) for e in rest] == [("message", 2, "2")]

        async with serving(create_app(settings, engine=engine, client=client)) as base_url:
            headers = {**admin_headers(), "Last-Event-ID": rest[-1].id or ""}
            async with http.stream("GET", base_url + PATH, headers=headers) as again:
                events = sse_events(again)
                conversation_log.record_batch(engine, batch("parada", "ended", message(3)))
                resumed = [event async for event in events]
        assert [(e.event, e.data.get("seq")) for e in resumed] == [("message", 3), ("end", None)]


async def test_a_server_stopping_leaves_the_streams_of_another_server_of_the_process_open(
    engine: sa.Engine, settings: Settings, time_env: WorkflowEnvironment
) -> None:
    """Two API servers in one process (a test's second API process, a bench), a stream open on
    each: the one of the server that stops ends whole, the other goes on and still ends with
    `end` when the conversation does."""
    conversation_log.record_batch(engine, batch("parada", "bot", message(1, "customer", "m1")))
    client = pydantic_client(time_env)
    async with (
        httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http,
        asyncio.timeout(DEADLINE_SECONDS),
        serving(create_app(settings, engine=engine, client=client)) as staying,
        http.stream("GET", staying + PATH, headers=admin_headers()) as response,
    ):
        events = sse_events(response)
        assert (await anext(events)).id == "1"
        async with serving(create_app(settings, engine=engine, client=client)) as stopping:
            request = http.build_request("GET", stopping + PATH, headers=admin_headers())
            elsewhere = await http.send(request, stream=True)
            events_elsewhere = sse_events(elsewhere)
            assert (await anext(events_elsewhere)).id == "1"
        assert await _rest(events_elsewhere, elsewhere) == []
        conversation_log.record_turn(engine, "parada", [message(2)])
        assert (await anext(events)).id == "2"
        conversation_log.record_batch(engine, batch("parada", "ended", message(3)))
        rest = [event async for event in events]
    assert [(e.event, e.data.get("seq")) for e in rest] == [("message", 3), ("end", None)]


async def test_a_stopping_server_ends_the_agent_screen_stream_whole(
    time_env: WorkflowEnvironment, settings: Settings, engine: sa.Engine
) -> None:
    """The agent screen's stream is open when its API process stops: after what it had sent
    (the waiting list, the agent's conversations), it ends whole, and the screen reconnects."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        app = create_app(settings, engine=engine, client=pydantic_client(time_env))
        async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as real:
            async with serving(app) as base_url:
                request = real.build_request(
                    "GET", base_url + "/api/agent/stream", headers=omni.agent("Ana")
                )
                response = await real.send(request, stream=True)
                events = sse_events(response)
                sent = [await anext(events)]
                while sent[-1].event != "conversations":
                    sent.append(await anext(events))
            rest = await _rest(events, response)  # the server has stopped
        assert (sent[0].event, sent[0].data) == ("queue", [])
        assert (sent[-1].event, sent[-1].data) == ("conversations", [])
        assert rest == []  # nothing changed meanwhile


def test_transbordo_up_stops_on_sigterm_with_a_chat_stream_open(tmp_path: Path) -> None:
    """SIGTERM to `up` (a service manager stopping it) while a customer's chat stream is
    open: `up` stops (its API process is not killed at the deadline), and the stream ends whole
    after the bot's answer, without `end` (the conversation goes on)."""
    with transbordo_up(tmp_path / "data", ADMIN_TOKEN) as up:
        up.wait_for_addresses()
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            customer = Customer()
            turn = customer.say(http, "oi")
            path = f"/api/conversations/{turn['conversation_id']}/stream"
            with http.stream("GET", path, headers=customer.auth(http)) as response:
                lines = response.iter_lines()
                said: list[dict[str, Any]] = []
                while not said or said[-1]["seq"] < turn["replies"][-1]["seq"]:
                    line = next(lines)
                    if line.startswith("data:"):
                        said.append(json.loads(line.removeprefix("data:")))
                assert "stopped" in up.terminate()
                rest = list(lines)  # to the end of the body (a cut one raises RemoteProtocolError)
        assert up.process.returncode == 0
        assert [m["text"] for m in said if m["from"] != "customer"] == texts(turn)
        assert "event: end" not in rest


async def test_a_drained_stream_reads_once_more_then_ends(engine: sa.Engine) -> None:
    """Only the drain wakes this stream (a hub with no source: no change feed): the message
    recorded while it waits is read after the drain starts, then the stream returns, without
    `end` (the conversation goes on); the drain forgets the stream once it is closed."""
    from api.routes.channel import _events
    from api.stream_drain import Drain
    from api.stream_hub import LogCursor, StreamHub

    conversation_log.record_batch(engine, batch("parada", "bot", message(1, "customer", "m1")))
    hub, drain = StreamHub(), Drain()
    events = _events(engine, hub, "parada", LogCursor(0), notes=False, reader=None, drain=drain)
    async with asyncio.timeout(DEADLINE_SECONDS):
        assert (await anext(events)).id == "1"
        waiting = asyncio.ensure_future(anext(events))
        while not any(watch._event._waiters for watch in hub._watches):  # until it waits
            await asyncio.sleep(0)  # a turn of the loop, not a time: its reads run in threads
        conversation_log.record_turn(engine, "parada", [message(2)])  # no feed tells it
        drain.start()
        assert (await waiting).id == "2"
        assert [event async for event in events] == []
    assert drain._wakers == set() and hub.open_streams == 0


async def test_a_stream_opened_on_a_draining_connection_does_not_wait(engine: sa.Engine) -> None:
    """A request that reached the app just as its connection began to drain reads once and
    ends instead of waiting for changes."""
    from api.routes.channel import _events
    from api.stream_drain import Drain
    from api.stream_hub import LogCursor, StreamHub

    conversation_log.record_batch(engine, batch("parada", "bot", message(1, "customer", "m1")))
    drain = Drain()
    drain.start()
    events = _events(
        engine, StreamHub(), "parada", LogCursor(0), notes=False, reader=None, drain=drain
    )
    async with asyncio.timeout(DEADLINE_SECONDS):
        assert [event.id async for event in events] == ["1"]


def test_sse_starlettes_own_shutdown_detection_stays_off() -> None:
    """It cancelled every stream of the process when any uvicorn server in it was stopping
    (api/sse.py): our streams end through their connection's drain instead."""
    from sse_starlette.sse import AppStatus

    import api.sse  # noqa: F401 (turns it off)

    assert AppStatus.enable_automatic_graceful_drain is False
