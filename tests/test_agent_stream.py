"""The agent screen's live feed (SSE over a real server): queue changes and customer messages."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from tests.conftest import admin_headers, pydantic_client, running_stack
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


async def test_the_agent_stream_ends_when_the_token_is_rotated_or_a_service_is_removed(
    time_env, settings, engine
):
    """An open stream re-checks its agent: a rotated token ends it; a service the agent left
    stops sending that service's waiting conversations."""
    quick = settings.model_copy(update={"agent_stream_recheck_seconds": 0.2})
    async with running_stack(time_env, quick, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        ana = omni.agents["Ana"]
        app = create_app(quick, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
        ):
            async with real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana")) as live:
                events = sse_events(live)
                assert (await next_event(events, "queue")).data == []
                conversation = (await into_queue(http, "saiu"))["conversation_id"]
                waiting = (await next_event(events, "queue")).data
                assert [w["conversation_id"] for w in waiting] == [conversation]

                removed = await http.patch(
                    f"/api/omni/agents/{ana['id']}",
                    json={"services": ["Financeiro"]},
                    headers=admin_headers(),
                )
                assert removed.status_code == 200, removed.text
                assert (await next_event(events, "queue")).data == []

            async with real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana")) as live:
                events = sse_events(live)
                await next_event(events, "queue")
                rotated = await http.post(
                    f"/api/omni/agents/{ana['id']}/token", headers=admin_headers()
                )
                assert rotated.status_code == 200
                names = [event.event async for event in events]  # ends: the token is stale
                assert "message" not in names
            assert (await real.get("/api/agent/me", headers=omni.agent("Ana"))).status_code == 401
