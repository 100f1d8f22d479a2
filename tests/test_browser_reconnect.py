"""The Tela de Atendimento after its connection drops, in a real Chromium: messages recorded late
(the screen already shows later ones) still appear, whether they came while the screen was
offline or after it reconnected. The connection runs through a loopback relay the test unplugs,
as a network blip would; the late messages are written to the log as a slow worker's record
would write them, out of order."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from api import stream_hub
from api.routes import agent as agent_routes
from store import conversations as conversation_log
from tests.conftest import admin_headers
from tests.test_browser import (
    TIMEOUT_MS,
    Console,
    browser,
    live_server,
    playwright_api,
    signed_in_agent,
)
from tests.test_browser_offers import connector_token, loja_with_agents
from workflows.contracts import Message

__all__ = ["browser"]

CUT = re.compile(r"net::ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_\w+|EMPTY_RESPONSE)")

pytestmark = pytest.mark.asyncio


class Relay:
    """A loopback TCP relay in front of the server that can be unplugged: every connection
    through it drops at once (reset), and new ones are cut, until it is plugged back in."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._plugged = True
        self._open: set[asyncio.StreamWriter] = set()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        try:
            yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        finally:
            self.unplug()
            server.close()
            await server.wait_closed()

    def unplug(self) -> None:
        self._plugged = False
        for writer in self._open:
            writer.transport.abort()

    def plug(self) -> None:
        self._plugged = True

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):  # type: ignore[no-untyped-def]
        if not self._plugged:
            client_out.transport.abort()
            return
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self._port)
        except OSError:
            client_out.transport.abort()
            return
        self._open |= {client_out, server_out}
        try:
            await asyncio.gather(_pipe(client_in, server_out), _pipe(server_in, client_out))
        finally:
            self._open -= {client_out, server_out}


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Bytes from `source` to `sink` until either side ends (closed cleanly on an end, so
    nothing buffered is lost; an unplug resets both)."""
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    sink.close()


async def test_late_messages_reach_the_agent_screen_across_a_reconnection(  # type: ignore[no-untyped-def]
    time_env,
    settings,
    engine,
    browser,  # noqa: F811 (the fixture of tests/test_browser.py)
    monkeypatch,
) -> None:
    monkeypatch.setattr(stream_hub, "GAP_GRACE_SECONDS", 0.2)
    monkeypatch.setattr(agent_routes, "GAP_GRACE_SECONDS", 0.2)
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    console = Console()
    async with (
        live_server(time_env, settings, engine) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        admin = admin_headers()
        ana_token = (await loja_with_agents(http, {"name": "Suporte"}, ("Ana",)))["Ana"]
        turn = await http.post(
            "/api/bots/loja/messages",
            json={"contact_id": "5511", "message_id": "m1", "text": "preciso de ajuda"},
            headers={"Authorization": f"Bearer {await connector_token(http, admin)}"},
        )
        assert turn.json()["status"] == "waiting", turn.text
        conversation_id = turn.json()["conversation_id"]

        relay = Relay(urlsplit(base).port or 80)
        async with relay.serving() as through_relay:
            context = await browser.new_context(locale="pt-BR", base_url=through_relay)
            try:
                agent = await signed_in_agent(context, console, ana_token)
                await agent.get_by_role("button", name="Atender próximo").click()
                transcript = agent.locator("#transcript")
                await expect(transcript).to_contain_text("preciso de ajuda")

                seen = conversation_log.get_conversation(engine, conversation_id)
                assert seen is not None
                n = seen.last_seq

                def late(seq: int, text: str) -> None:
                    at = datetime.now(UTC)
                    message = Message(seq=n + seq, sender="bot", text=text, at=at)
                    conversation_log.record_turn(engine, conversation_id, [message])

                late(3, "terceira")  # the first two are late: the stream sends it after a while
                await expect(transcript).to_contain_text("terceira")
                relay.unplug()
                await expect(agent.locator("#live")).to_have_text("reconectando…")
                late(1, "primeira")  # comes while the screen is offline
                relay.plug()
                await expect(agent.locator("#live")).to_have_text("ao vivo")
                await expect(transcript).to_contain_text("primeira")
                late(2, "segunda")  # comes after the screen reconnected
                await expect(transcript.locator(".msg", has_text="segunda")).to_be_visible()
                texts = await transcript.locator(".msg").all_inner_texts()
                late_ones = [
                    w for t in texts for w in ("primeira", "segunda", "terceira") if w in t
                ]
                assert late_ones == ["primeira", "segunda", "terceira"]  # in seq order, each once
            finally:
                await context.close()  # before the server stops: its stream ends cleanly
    # the blip itself: Chromium logs the stream it cut, and the requests refused meanwhile
    assert [error for error in console.errors if not CUT.search(error)] == []
