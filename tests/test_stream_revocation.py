"""An open customer stream follows its caller's right to read (api/channel_rechecks.py).

Found from outside: a connector credential revoked by the admin kept receiving every later
message (a CPF too) on the streams it had open, until each conversation ended. Now a revoked
credential, a web chat the designer turned off, or an expired web session ends the stream
within `channel_credential_cache_seconds`, over real sockets, without the conversation's `end`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from api import web_sessions
from api.channel_auth import ChannelClient
from api.channel_rechecks import ChannelRechecks
from api.usecases.publishing import publish_source
from store.tables import channel_credentials
from tests.conftest import admin_headers, pydantic_client
from tests.live import DEADLINE_SECONDS, Event, sse_events
from tests.test_channel_identity import (
    CPF,
    a_victim_with_an_agent,
    publish,
    speak,
    web_flow,
    web_session,
)
from tests.test_handoff import flow
from transbordo.stack import running

QUICK = {"channel_credential_cache_seconds": 0.2}


async def the_rest(events: AsyncIterator[Event]) -> list[Event]:
    """Every event the stream still sends, until it ends (the deadline fails the test)."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        return [event async for event in events]


async def test_a_revoked_connectors_open_stream_ends(dev_env, settings, engine):
    async with running(
        pydantic_client(dev_env), settings.model_copy(update=QUICK), engine, served=True
    ) as stack:
        http = stack.http
        victim, conversation, _ = await a_victim_with_an_agent(http)
        made = await http.post(
            "/api/bots/loja/channel-credentials", json={"name": "parceiro"}, headers=admin_headers()
        )
        assert made.status_code == 201, made.text
        partner = {"Authorization": f"Bearer {made.json()['token']}"}
        path = f"/api/conversations/{conversation}/stream"
        async with http.stream("GET", path, headers=partner, auth=None) as live:
            assert live.status_code == 200
            events = sse_events(live)
            first = await anext(events)
            assert CPF in first.data["text"]  # let in while its credential is live
            revoked = await http.delete(
                f"/api/bots/loja/channel-credentials/{made.json()['id']}", headers=admin_headers()
            )
            assert revoked.status_code == 204
            rest = await the_rest(events)
        assert "end" not in {event.event for event in rest}  # the conversation goes on
        state = await http.get(f"/api/conversations/{conversation}", headers=victim)
        assert state.json()["status"] == "in_service"
        again = await http.get(path, headers=partner, auth=None)
        assert again.status_code == 401


async def test_a_web_sessions_open_stream_ends_with_the_bots_web_chat(dev_env, settings, engine):
    async with running(
        pydantic_client(dev_env), settings.model_copy(update=QUICK), engine, served=True
    ) as stack:
        http = stack.http
        await publish(http, web_flow("tbk_not-a-key"))
        session = await web_session(http)
        said = await speak(http, session, "w1", "oi")
        assert said.status_code == 200, said.text
        path = f"/api/conversations/{said.json()['conversation_id']}/stream"
        async with http.stream("GET", path, headers=session, auth=None) as live:
            assert live.status_code == 200
            events = sse_events(live)
            assert (await anext(events)).data["text"] == "oi"
            await publish(http, flow("tbk_not-a-key"))  # the designer turns the web chat off
            rest = await the_rest(events)
        assert "end" not in {event.event for event in rest}
        # the browser's EventSource reconnects: refused, as every read of the closed chat is
        resumed = await http.get(path, headers={**session, "Last-Event-ID": "1"}, auth=None)
        read = await http.get(path.removesuffix("/stream") + "/messages", headers=session)
        for refused in (resumed, read):
            assert refused.status_code == 404 and refused.json()["code"] == "no_web_chat"


async def test_a_credential_revoked_through_another_replica_ends_streams_and_requests(
    dev_env, settings, engine
):
    """Revoked in SQL by another API process (this one's cache still holds the credential for
    a minute): the recheck ends the stream, and the stream cannot resume from the cache."""
    kept = settings.model_copy(update={"channel_credential_cache_seconds": 60.0})
    async with running(pydantic_client(dev_env), kept, engine, served=True) as stack:
        http = stack.http
        _, conversation, _ = await a_victim_with_an_agent(http)
        made = await http.post(
            "/api/bots/loja/channel-credentials", json={"name": "parceiro"}, headers=admin_headers()
        )
        partner = {"Authorization": f"Bearer {made.json()['token']}"}
        path = f"/api/conversations/{conversation}/stream"
        async with http.stream("GET", path, headers=partner, auth=None) as live:
            events = sse_events(live)
            assert CPF in (await anext(events)).data["text"]
            with engine.begin() as conn:  # another replica's DELETE …/channel-credentials/{id}
                conn.execute(
                    sa.update(channel_credentials).values(revoked_at=datetime.now(UTC))
                    .where(channel_credentials.c.id == made.json()["id"])
                )  # fmt: skip
            await stack.app.state.channel_rechecks.check()  # the next period's lookup
            rest = await the_rest(events)
        assert "end" not in {event.event for event in rest}
        resumed = await http.get(path, headers={**partner, "Last-Event-ID": "1"}, auth=None)
        assert resumed.status_code == 401


async def test_only_the_stream_of_an_expired_web_session_is_woken(engine) -> None:
    publish_source(engine, "loja", web_flow("tbk_not-a-key"))
    key, now = b"k" * 32, datetime.now(UTC)
    expired, _ = web_sessions.issue(key, "loja", timedelta(minutes=1), now - timedelta(hours=1))
    current, _ = web_sessions.issue(key, "loja", timedelta(hours=1), now)
    rechecks = ChannelRechecks(engine, every=60.0, signing_key=key)
    woken: list[str] = []
    caller = ChannelClient("web", "loja", "web_x")
    with (
        rechecks.following(caller, expired, lambda: woken.append("expired")) as old,
        rechecks.following(caller, current, lambda: woken.append("current")) as new,
    ):
        await rechecks.check()
        assert woken == ["expired"]
        assert not old.let_in and new.let_in
