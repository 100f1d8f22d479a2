"""The agent screen's live feed (SSE over a real server): queue changes and customer messages."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from tests.conftest import pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, Event, serving, sse_events
from tests.test_handoff import flow, into_queue, publish, say, setup_omni

pytestmark = pytest.mark.asyncio


async def next_event(events, name: str) -> Event:  # type: ignore[no-untyped-def]
    """The next event called `name` (others, e.g. an unchanged snapshot, are passed over)."""
    async for event in events:
        if event.event == name:
            return event
    raise AssertionError(f"the stream ended before a {name!r} event")


async def test_the_agent_stream_shows_the_queue_and_the_customers_messages(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        app = create_app(settings, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
            real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana")) as response,
        ):
            assert response.status_code == 200
            events = sse_events(response)
            assert (await next_event(events, "queue")).data == []
            assert (await next_event(events, "conversations")).data == []

            conversation = (await into_queue(http, "ao-vivo"))["conversation_id"]
            waiting = (await next_event(events, "queue")).data
            assert [(w["conversation_id"], w["preview"]) for w in waiting] == [(conversation, "1")]

            picked = await http.post(
                f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
            )
            assert picked.status_code == 200
            assert (await next_event(events, "queue")).data == []
            assert (await next_event(events, "conversations")).data == [conversation]

            await say(http, "ao-vivo", "ao-vivo-3", "Meu pedido não chegou")
            while True:  # the transcript so far comes first, then the new message
                event = await next_event(events, "message")
                assert event.data["conversation_id"] == conversation
                if event.data["message"]["text"] == "Meu pedido não chegou":
                    break
            assert event.data["message"]["from"] == "customer"

        unauthorized = await http.get("/api/agent/stream")
        assert unauthorized.status_code == 401
