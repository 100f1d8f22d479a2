"""The agent screen's stream, as QA found it: conversations kept after a service is removed,
agent streams not locked out by customers behind the same address, an admin's status change
shown at once."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
import pytest

from api.app import create_app
from tests.attachment_files import PDF
from tests.conftest import admin_headers, pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, eventually, serving, sse_events
from tests.test_agent_stream import next_event
from tests.test_handoff import flow, into_queue, publish, say, setup_omni

pytestmark = pytest.mark.asyncio


async def test_conversations_held_stay_on_the_screen_when_their_service_is_removed(
    time_env, settings, engine
):
    """As in Genesys or Flex: taking a queue away from an agent does not take away what the
    agent is working; the agent answers and finishes it from the screen (the waiting list of
    that service goes)."""
    quick = settings.model_copy(update={"agent_stream_recheck_seconds": 0.2})
    async with running_stack(time_env, quick, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        ana, headers = omni.agents["Ana"], omni.agent("Ana")
        held = (await into_queue(http, "segura"))["conversation_id"]
        picked = await http.post(f"/api/agent/conversations/{held}/pickup", headers=headers)
        assert picked.status_code == 200, picked.text
        sent = await http.post(
            f"/api/agent/conversations/{held}/attachments?name=boleto.pdf",
            content=PDF,
            headers=headers,
        )
        assert sent.status_code == 200, sent.text
        file = f"/api/agent/attachments/{sent.json()['data']['attachment']['id']}"
        waiting = (await into_queue(http, "espera"))["conversation_id"]
        app = create_app(quick, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
        ):
            async with real.stream("GET", "/api/agent/stream", headers=headers) as live:
                events = sse_events(live)
                assert [w["conversation_id"] for w in (await next_event(events, "queue")).data] == [
                    waiting
                ]
                assert (await next_event(events, "conversations")).data == [held]

                removed = await http.patch(
                    f"/api/omni/agents/{ana['id']}",
                    json={"services": ["Financeiro"]},
                    headers=admin_headers(),
                )
                assert removed.status_code == 200, removed.text
                assert (await next_event(events, "queue")).data == []  # the service's waiting

                await say(http, "segura", "segura-3", "Ainda está aí?")
                async for event in events:  # the conversation is not dropped: its messages come
                    assert event.event != "conversations", event
                    if event.event == "message" and event.data["message"]["text"] == (
                        "Ainda está aí?"
                    ):
                        break

            async with real.stream("GET", "/api/agent/stream", headers=headers) as reloaded:
                events = sse_events(reloaded)
                assert (await next_event(events, "queue")).data == []
                assert (await next_event(events, "conversations")).data == [held]

                info = await http.get(f"/api/agent/conversations/{held}", headers=headers)
                assert info.status_code == 200 and info.json()["service"] == "Suporte"
                assert (await http.get(file, headers=headers)).content == PDF  # its files too
                reply = await http.post(
                    f"/api/agent/conversations/{held}/messages",
                    json={"text": "Sim, já resolvo."},
                    headers=headers,
                )
                assert reply.status_code == 200, reply.text
                finished = await http.post(
                    f"/api/agent/conversations/{held}/finish",
                    json={"return_to_bot": False},
                    headers=headers,
                )
                assert finished.status_code == 200, finished.text
                assert (await next_event(events, "conversations")).data == []
        agents = (await http.get("/api/supervisor/agents", headers=admin_headers())).json()
        assert [a["in_service"] for a in agents if a["id"] == ana["id"]] == [0]


async def test_customers_behind_one_address_do_not_lock_the_agents_out(time_env, settings, engine):
    """The per-address cap counts the customers' streams only; an agent's own streams are
    capped per agent (a screen opened in too many tabs), after its token is checked."""
    capped = settings.model_copy(update={"max_streams_per_address": 1, "max_streams_per_agent": 2})
    async with running_stack(time_env, capped, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        customer = (await into_queue(http, "mesmo-ip"))["conversation_id"]
        app = create_app(capped, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS, auth=http.auth) as real,
            AsyncExitStack() as streams,
        ):
            path = f"/api/conversations/{customer}/stream"
            first = await streams.enter_async_context(real.stream("GET", path))
            assert first.status_code == 200
            second = await real.get(path)
            assert second.status_code == 429  # customers from one address: still capped

            tabs = AsyncExitStack()  # from the same address as the customer's stream
            for _ in range(2):
                ana = await tabs.enter_async_context(
                    real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana"))
                )
                assert ana.status_code == 200
            one_too_many = await real.get("/api/agent/stream", headers=omni.agent("Ana"))
            assert one_too_many.status_code == 429
            assert one_too_many.json()["code"] == "rate_limited"
            assert one_too_many.headers["Retry-After"]
            async with real.stream("GET", "/api/agent/stream", headers=omni.agent("Beto")) as beto:
                assert beto.status_code == 200  # another agent's cap is its own
            stranger = await real.get("/api/agent/stream", headers={"Authorization": "Bearer x"})
            assert stranger.status_code == 401

            await tabs.aclose()  # tabs closed free their places, and the refusals took none

            async def reopened() -> bool | None:
                async with AsyncExitStack() as again:
                    for _ in range(2):
                        tab = await again.enter_async_context(
                            real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana"))
                        )
                        if tab.status_code != 200:
                            return None
                return True

            await eventually(reopened, "both of Ana's places once her tabs closed")


async def test_a_status_the_admin_sets_reaches_the_open_screen(time_env, settings, engine):
    """Each change shows at once, with nothing else happening (no queue change wakes the
    stream: it sees the status when it checks its agent again)."""
    quick = settings.model_copy(update={"agent_stream_recheck_seconds": 0.2})
    async with running_stack(time_env, quick, engine) as http:
        omni = await setup_omni(http)
        ana = omni.agents["Ana"]
        app = create_app(quick, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
            real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana")) as live,
        ):
            events = sse_events(live)
            assert (await next_event(events, "status")).data == {"status": "available"}
            for status in ("paused", "available", "paused"):
                changed = await http.patch(
                    f"/api/omni/agents/{ana['id']}",
                    json={"status": status},
                    headers=admin_headers(),
                )
                assert changed.status_code == 200, changed.text
                async with asyncio.timeout(DEADLINE_SECONDS):  # not at the queue's next change
                    assert (await next_event(events, "status")).data == {"status": status}
