"""Agent presence: an agent whose screen is gone (no agent stream open, no agent request) for
`agent_presence_timeout_seconds` is set offline, as by its own "Offline"; one whose stream is
open, or whose screen polls, stays. Real worker and API (two API processes: the one of the
stack and one served over real HTTP), SQLite and PostgreSQL. The sweep is driven with an
explicit instant (`at`) past the timeout instead of waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from api import presence
from api.app import create_app
from store import presence as presence_store
from store.common import now
from tests.conftest import admin_headers, pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, Event, eventually, serving, sse_events
from tests.test_auto_assignment import open_desk, queue_up
from tests.test_handoff import flow, into_queue, publish, setup_omni
from tests.test_omni_migration import alembic, row

pytestmark = pytest.mark.asyncio


async def next_event(events: AsyncIterator[Event], name: str) -> Event:
    """The next `name` event, within the tests' deadline (keep-alives come in between)."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        async for event in events:
            if event.event == name:
                return event
    raise AssertionError(f"the stream ended before a {name!r} event")


def past_the_timeout(app: FastAPI, since: datetime | None = None) -> datetime:
    """An instant just past the presence timeout after `since` (default now)."""
    timeout = app.state.settings.agent_presence_timeout_seconds
    return (since or now()) + timedelta(seconds=timeout, milliseconds=1)


async def status_of(http: httpx.AsyncClient, token: dict[str, str]) -> str:
    me = await http.get("/api/agent/me", headers=token)
    assert me.status_code == 200, me.text
    return str(me.json()["status"])


async def suporte_agents(http: httpx.AsyncClient) -> dict[str, int]:
    live = await http.get("/api/supervisor/live", headers=admin_headers())
    assert live.status_code == 200, live.text
    return next(s["agents"] for s in live.json() if s["service"] == "Suporte")


@asynccontextmanager
async def second_api(
    time_env, settings, engine
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    """Another API process on the same database, served over real HTTP (its streams)."""
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with (
        serving(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
    ):
        yield app, real


async def closed_here(app: FastAPI, agent_id: str) -> None:
    """Until the server has seen the client close the agent's stream."""

    async def check() -> bool | None:
        return True if not presence.presence_of(app).streaming(agent_id) else None

    await eventually(check, "the server to see the agent stream closed")


async def test_the_screen_gone_goes_offline_the_open_stream_stays(time_env, settings, any_engine):
    """Ana's screen keeps its stream open; Beto, who has a customer in service, closed his tab.
    Past the timeout Beto is offline (his customer stays with him), Ana available; the
    supervisor counts one available agent; Beto's screen is told why; his own status works."""
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        beto, caio = omni.agents["Beto"]["id"], omni.agents["Caio"]["id"]
        client, timeout = pydantic_client(time_env), settings.agent_presence_timeout_seconds
        conversation = (await into_queue(http, "5511"))["conversation_id"]
        picked = await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Beto")
        )
        assert picked.status_code == 200, picked.text
        assert (await suporte_agents(http))["available"] == 2

        async with second_api(time_env, settings, any_engine) as (app, real):
            async with real.stream("GET", "/api/agent/stream", headers=omni.agent("Beto")) as gone:
                await next_event(sse_events(gone), "queue")  # Beto's tab, closed
            await closed_here(app, beto)
            async with real.stream("GET", "/api/agent/stream", headers=omni.agent("Ana")) as live:
                events = sse_events(live)
                assert (await next_event(events, "status")).data == {"status": "available"}
                ticks = presence.presence_of(app)
                assert await ticks.tick(client) == []  # writes Beto's last request, seen now
                # ...so a sweep at that instant (any process's) leaves him
                assert await presence.sweep(any_engine, client, timeout, now()) == []
                at = past_the_timeout(app)
                gone = await ticks.tick(client, at)
                assert sorted(gone) == sorted([beto, caio])  # Caio (Financeiro) is gone too
                # another API process sweeping at that instant sees Ana's stream too
                assert await presence.sweep(any_engine, client, timeout, at) == []

                assert await status_of(http, omni.agent("Ana")) == "available"
                assert await status_of(http, omni.agent("Beto")) == "offline"
                assert (await suporte_agents(http))["available"] == 1
                assert (await suporte_agents(http))["offline"] == 1
                held = await http.get(
                    f"/api/agent/conversations/{conversation}", headers=omni.agent("Beto")
                )
                assert held.json()["status"] == "in_service"  # still Beto's: he may reply
                reply = await http.post(
                    f"/api/agent/conversations/{conversation}/messages",
                    json={"text": "Ainda estou aqui."},
                    headers=omni.agent("Beto"),
                )
                assert reply.status_code == 200, reply.text

            async with real.stream("GET", "/api/agent/stream", headers=omni.agent("Beto")) as back:
                told = await next_event(sse_events(back), "status")
            assert told.data == {"status": "offline", "reason": "unseen"}

        again = await http.post(
            "/api/agent/status", json={"status": "available"}, headers=omni.agent("Beto")
        )
        assert again.status_code == 200 and again.json()["status"] == "available"
        assert await presence.sweep(any_engine, client, timeout, now()) == []  # just chose it
        assert await status_of(http, omni.agent("Beto")) == "available"
        assert (await suporte_agents(http))["available"] == 2


async def test_a_polling_screen_stays_until_it_stops_polling(time_env, settings, engine):
    """Without a stream the screen polls `GET /api/agent/queue`: a poll counts as seen. Ana
    polls; Beto and Caio make no request. Past the timeout Ana stays and the other two are
    offline; once Ana stops polling, one more timeout and she is offline too."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        client = pydantic_client(time_env)
        async with second_api(time_env, settings, engine) as (app, real):
            polled = await real.get("/api/agent/queue", headers=omni.agent("Ana"))
            assert polled.status_code == 200
            at = past_the_timeout(app)
            gone = await presence.presence_of(app).tick(client, at)
            assert sorted(gone) == sorted([omni.agents["Beto"]["id"], omni.agents["Caio"]["id"]])
            assert await status_of(http, omni.agent("Ana")) == "available"
            assert await status_of(http, omni.agent("Beto")) == "offline"

            later = await presence.presence_of(app).tick(client, past_the_timeout(app, at))
            assert later == [omni.agents["Ana"]["id"]]
            assert await status_of(http, omni.agent("Ana")) == "offline"


async def test_the_offer_of_an_agent_whose_screen_is_gone_goes_to_the_next(
    time_env, settings, engine
):
    """Automatic assignment: the conversation offered to an agent whose screen is gone is
    withdrawn from it when it goes offline and offered at once to the agent still there."""
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": [], "Beto": []}, assignment="auto", offer_seconds=600)
        first = await queue_up(http, "c1")
        rung = {name: await desk.offers(name) for name in ("Ana", "Beto")}
        gone_name = next(name for name, offers in rung.items() if offers)
        there = "Beto" if gone_name == "Ana" else "Ana"
        async with (
            second_api(time_env, settings, engine) as (app, real),
            real.stream("GET", "/api/agent/stream", headers=desk.auth(there)) as live,
        ):
            events = sse_events(live)
            assert (await next_event(events, "offers")).data == []
            at = past_the_timeout(app)
            await presence.presence_of(app).tick(pydantic_client(time_env), at)
            offered = (await next_event(events, "offers")).data
            assert [offer["conversation_id"] for offer in offered] == [first]
        assert await desk.offers(gone_name) == []
        assert await status_of(http, desk.auth(gone_name)) == "offline"


async def test_after_an_outage_the_screens_get_a_timeout_to_come_back(time_env, settings, engine):
    """Every API process was down longer than the timeout: every agent's `last_seen_at` is
    old. The restarted process sweeps nobody until it has been up for the timeout (before,
    its first tick set offline every screen that had not reconnected yet: a background tab
    retries once a minute); Ana's screen comes back meanwhile and stays, the others then go."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        client, timeout = pydantic_client(time_env), settings.agent_presence_timeout_seconds
        outage = now() - timedelta(seconds=10 * timeout)
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE agents SET last_seen_at = :at, status_changed_at = :at"),
                {"at": outage},
            )
        async with second_api(time_env, settings, engine) as (app, real):
            ticks = presence.presence_of(app)
            assert await ticks.tick(client, now() + timedelta(seconds=timeout / 2)) == []
            assert await status_of(http, omni.agent("Beto")) == "available"
            polled = await real.get("/api/agent/queue", headers=omni.agent("Ana"))  # Ana is back
            assert polled.status_code == 200
            gone = await ticks.tick(client, ticks.sweeps_from)
            assert sorted(gone) == sorted([omni.agents["Beto"]["id"], omni.agents["Caio"]["id"]])
            assert await status_of(http, omni.agent("Ana")) == "available"


async def test_presence_off_keeps_every_status(time_env, settings, engine):
    """`agent_presence_timeout_seconds: 0`: nobody is set offline for a screen gone."""
    off = settings.model_copy(update={"agent_presence_timeout_seconds": 0})
    async with running_stack(time_env, off, engine) as http:
        omni = await setup_omni(http)
        async with second_api(time_env, off, engine) as (app, _):
            at = now() + timedelta(days=1)
            assert await presence.presence_of(app).tick(pydantic_client(time_env), at) == []
        assert await status_of(http, omni.agent("Beto")) == "available"


async def test_agents_count_as_seen_at_the_upgrade(any_engine: sa.Engine) -> None:
    """Migration 0021: an agent available since long before it is not set offline by the
    first sweep after the upgrade (its screen may still be open), only a timeout later."""
    alembic(any_engine, "downgrade", "0020")
    long_ago = now() - timedelta(days=1)
    with any_engine.begin() as conn:
        row(conn, "agents", id="a1", name="Ana", status="available", status_changed_at=long_ago)
    alembic(any_engine, "upgrade", "head")
    assert presence_store.set_unseen_offline(any_engine, 90, now()) == []
    assert presence_store.set_unseen_offline(any_engine, 90, now() + timedelta(seconds=91)) == [
        "a1"
    ]
