"""The agent stream after "Atender próximo" (POST /api/agent/next): a conversation taken and
gone again before the stream read the agent's conversations (the customer left at once, a
supervisor reassigned it) is still told gone, so the screen, which opened it from the pickup's
answer, closes it. Nothing else touches the conversation between (no customer message)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from api.app import create_app
from store import queue
from tests.conftest import admin_headers, pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, Event, eventually, serving, sse_events
from tests.test_agent_stream import next_event
from tests.test_handoff import flow, into_queue, publish, setup_omni

pytestmark = pytest.mark.asyncio

ATTEMPTS = 3
"""Rounds per way of leaving until one leaves before the stream's next read (the window this
test is about: the stream reads the agent's conversations at most every 0.5 s); a round where
the stream read first checks the ordinary path instead."""


async def queue_shows(events: AsyncIterator[Event], ids: list[str]) -> list[Event]:
    """The events up to the `queue` event listing exactly `ids`."""
    seen = []
    async for event in events:
        seen.append(event)
        if event.event == "queue" and [w["conversation_id"] for w in event.data] == ids:
            return seen
    raise AssertionError("the stream ended")


async def test_a_conversation_taken_and_gone_at_once_is_told_gone(time_env, settings, any_engine):
    """On SQLite (the hub polls) and PostgreSQL (LISTEN/NOTIFY)."""
    engine = any_engine
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        ana, beto = omni.agents["Ana"]["id"], omni.agents["Beto"]["id"]
        headers = omni.agent("Ana")

        async def customer_leaves(conversation: str) -> None:
            left = await http.post(f"/api/conversations/{conversation}/leave")
            assert left.status_code == 202, left.text

        async def reassigned_to_beto(conversation: str) -> None:
            moved = await http.post(
                f"/api/supervisor/conversations/{conversation}/reassign",
                json={"agent": beto},
                headers=admin_headers(),
            )
            assert moved.status_code == 200, moved.text

        app = create_app(settings, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
            real.stream("GET", "/api/agent/stream", headers=headers) as live,
        ):
            events = sse_events(live)
            assert (await next_event(events, "conversations")).data == []
            rounds = 0

            async def one_round(away: Callable[[str], Awaitable[None]]) -> bool:
                """Take the next, make it go away at once; whether it went before the read."""
                nonlocal rounds
                rounds += 1
                conversation = (await into_queue(http, f"pega-{rounds}"))["conversation_id"]
                await queue_shows(events, [conversation])  # read now: the next is 0.5 s away
                taken = await real.post("/api/agent/next", headers=headers)  # as the screen
                assert taken.status_code == 200, taken.text
                assert taken.json()["conversation_id"] == conversation
                await away(conversation)

                async def gone_from_ana() -> bool | None:
                    held = await asyncio.to_thread(queue.in_service_for_agent, engine, ana)
                    return True if conversation not in {e.conversation_id for e in held} else None

                await eventually(gone_from_ana, "the conversation gone from Ana")
                # a read after it went (a customer queued), then one more (it leaves): the
                # events of the first read, all of them, come before the second's `queue`
                sentinel = (await into_queue(http, f"sentinela-{rounds}"))["conversation_id"]
                seen = await queue_shows(events, [sentinel])
                await customer_leaves(sentinel)
                seen += await queue_shows(events, [])
                lists = [event.data for event in seen if event.event == "conversations"]
                assert lists, "the screen was never told: the conversation stays open on it"
                assert lists[-1] == []
                return not lists[0]  # else listed first: the stream read before it went

            for away in (customer_leaves, reassigned_to_beto):
                for _ in range(ATTEMPTS):
                    if await one_round(away):
                        break
