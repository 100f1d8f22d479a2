"""Message ids in the transcript: each reader sees the ids it gave itself, and nobody else's.

The pages match their sends to the stream by these ids (two sends of the same text at once are
told apart: tests/test_browser_double_sends.py). A customer's id may be a keyed hash of a
platform's, an agent's is that agent's own: the connector, the admin, the other side and the
next agent see none (docs/security.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import admin_headers, pydantic_client
from tests.live import Event, sse_events
from tests.test_channel_identity import publish, speak, web_flow, web_session
from tests.test_handoff import setup_omni
from transbordo.stack import running

pytestmark = pytest.mark.asyncio

LOGGED_ID_LENGTH = 200
"""`messages.message_id`: the longest id the log keeps."""
Seen = list[tuple[str, str | None, str | None]]
"""(from, text, message_id) of the customer's and the agents' entries, in order."""


def seen(messages: list[dict[str, Any]]) -> Seen:
    return [
        (m["from"], m["text"], m["message_id"])
        for m in messages
        if m["from"] in ("customer", "agent")
    ]


async def streamed(events: AsyncIterator[Event], last: str) -> Seen:
    """The messages of a customer's stream or (`{conversation_id, message}`) an agent's, up to
    the one whose text is `last`."""
    messages = []
    async for event in events:
        if event.event == "message":
            messages.append(event.data.get("message", event.data))
            if messages[-1]["text"] == last:
                return seen(messages)
    raise AssertionError(f"the stream ended before {last!r}")


async def test_each_reader_sees_the_message_ids_it_gave_and_no_others(time_env, settings, engine):
    async with running(pydantic_client(time_env), settings, engine, served=True) as stack:
        http = stack.http
        omni = await setup_omni(http)
        await publish(http, web_flow(omni.key))
        customer = await web_session(http)
        first = await speak(http, customer, "w-1", "oi")
        conversation = first.json()["conversation_id"]
        assert (await speak(http, customer, "w-2", "1")).json()["status"] == "waiting"
        url = f"/api/agent/conversations/{conversation}"
        ana, caio = omni.agent("Ana"), omni.agent("Caio")
        assert (await http.post(f"{url}/pickup", headers=ana)).status_code == 200
        said = await http.post(
            f"{url}/messages", json={"text": "Olá!", "message_id": "r-1"}, headers=ana
        )
        assert said.status_code == 200 and said.json()["message_id"] == "r-1", said.text
        plain = await http.post(f"{url}/messages", json={"text": "Tudo bem?"}, headers=ana)
        assert plain.status_code == 200 and plain.json()["message_id"] is None, plain.text

        # the web customer: the ids of its own messages
        own = [("customer", "oi", "w-1"), ("customer", "1", "w-2")]
        theirs = [("agent", "Olá!", None), ("agent", "Tudo bem?", None)]
        read = await http.get(f"/api/conversations/{conversation}/messages", headers=customer)
        assert seen(read.json()) == own + theirs
        path = f"/api/conversations/{conversation}/stream"
        async with http.stream("GET", path, headers=customer) as live:
            assert await streamed(sse_events(live), "Tudo bem?") == own + theirs
        # Ana: the id of her own reply
        read = await http.get(f"{url}/messages", headers=ana)
        assert seen(read.json()) == [
            ("customer", "oi", None),
            ("customer", "1", None),
            ("agent", "Olá!", "r-1"),
            ("agent", "Tudo bem?", None),
        ]
        # the bot's connector (it reads every conversation of its bot) and the admin: none
        for auth in ({}, admin_headers()):
            read = await http.get(f"/api/conversations/{conversation}/messages", headers=auth)
            assert {m["message_id"] for m in read.json()} == {None}, auth

        # the next agent, after a transfer: not Ana's id, though he gives the same one
        moved = await http.post(f"{url}/transfer", json={"service": "Financeiro"}, headers=ana)
        assert moved.status_code == 200, moved.text
        async with http.stream("GET", "/api/agent/stream", headers=caio) as live:
            events = sse_events(live)
            async for event in events:  # connected: what he takes now comes whole
                if event.event == "conversations":
                    break
            assert (await http.post(f"{url}/pickup", headers=caio)).status_code == 200
            said = await http.post(
                f"{url}/messages", json={"text": "Sou o Caio.", "message_id": "r-1"}, headers=caio
            )
            assert said.status_code == 200 and said.json()["message_id"] == "r-1", said.text
            his = [
                ("customer", "oi", None),
                ("customer", "1", None),
                ("agent", "Olá!", None),
                ("agent", "Tudo bem?", None),
                ("agent", "Sou o Caio.", "r-1"),
            ]
            assert await streamed(events, "Sou o Caio.") == his
        read = await http.get(f"{url}/messages", headers=caio)
        assert seen(read.json()) == his
        read = await http.get(f"/api/conversations/{conversation}/messages", headers=customer)
        assert seen(read.json())[-1] == ("agent", "Sou o Caio.", None)


@dataclass(frozen=True)
class WithAna:
    """A web customer's conversation that Ana has picked up."""

    stack: Any
    customer: dict[str, str]
    conversation: str
    ana: dict[str, str]
    me: str
    """Ana's agent id."""

    @property
    def url(self) -> str:
        return f"/api/agent/conversations/{self.conversation}"


@asynccontextmanager
async def with_ana(time_env: Any, settings: Any, engine: Any) -> AsyncIterator[WithAna]:
    async with running(pydantic_client(time_env), settings, engine, served=True) as stack:
        http = stack.http
        omni = await setup_omni(http)
        await publish(http, web_flow(omni.key))
        customer = await web_session(http)
        conversation = (await speak(http, customer, "w-1", "oi")).json()["conversation_id"]
        assert (await speak(http, customer, "w-2", "1")).json()["status"] == "waiting"
        ana = omni.agent("Ana")
        url = f"/api/agent/conversations/{conversation}"
        assert (await http.post(f"{url}/pickup", headers=ana)).status_code == 200
        me = (await http.get("/api/agent/me", headers=ana)).json()["id"]
        yield WithAna(stack, customer, conversation, ana, me)


async def test_an_agents_message_id_too_long_for_the_log_is_refused(time_env, settings, engine):
    """The log keeps an agent's id under the agent's key (`agent:{agent}:{id}`, 200 characters at
    most): an id whose key would not fit is a 422 naming the field, and nothing is sent; the
    longest one allowed is kept, so Ana's reads show it back and her screen matches the reply."""
    async with with_ana(time_env, settings, engine) as chat:
        http, url, ana, me = chat.stack.http, chat.url, chat.ana, chat.me
        longest = "r" * (LOGGED_ID_LENGTH - len(f"agent:{me}:"))
        body = {"text": "Longo demais", "message_id": longest + "r"}
        refused = await http.post(f"{url}/messages", json=body, headers=ana)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error"
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", "message_id"], error
        assert error["msg"] == f"String should have at most {len(longest)} characters", error

        body = {"text": "Olá!", "message_id": longest}
        said = await http.post(f"{url}/messages", json=body, headers=ana)
        assert said.status_code == 200, said.text
        read = await http.get(f"{url}/messages", headers=ana)
        assert [m for m in seen(read.json()) if m[0] == "agent"] == [("agent", "Olá!", longest)]
