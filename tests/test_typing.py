"""Typing indicators (issue 14 item 5): the web chat's customer and the agent each see the
other typing, as an SSE event `typing` on their own stream; nothing is written anywhere (the
transcript is the same before and after), each side is rate-limited, strangers are refused."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from tests.conftest import pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, serving, sse_events
from tests.test_agent_stream import next_event
from tests.test_attachments import flow
from tests.test_handoff import publish, setup_omni

pytestmark = pytest.mark.asyncio


async def test_typing_both_ways_and_never_stored(time_env, settings, engine):
    settings = settings.model_copy(update={"rate_limit_typing_per_conversation": "3/minute"})
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        ana, beto = omni.agent("Ana"), omni.agent("Beto")
        await publish(http, flow(omni.key))
        app = create_app(settings, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as real,
        ):
            token = (await real.post("/api/bots/loja/web-sessions")).json()["token"]
            web = {"Authorization": f"Bearer {token}"}
            first = await real.post(
                "/api/bots/loja/messages", json={"message_id": "t1", "text": "oi"}, headers=web
            )
            conversation = first.json()["conversation_id"]
            base = f"/api/agent/conversations/{conversation}"
            assert (await real.post(f"{base}/pickup", headers=ana)).status_code == 200
            async with (
                real.stream("GET", "/api/agent/stream", headers=ana) as agent_stream,
                real.stream(
                    "GET", f"/api/conversations/{conversation}/stream", headers=web
                ) as chat_stream,
            ):
                agent_events, chat_events = sse_events(agent_stream), sse_events(chat_stream)
                assert (await next_event(agent_events, "conversations")).data == [conversation]
                await next_event(chat_events, "message")  # the chat's stream is watching
                said = await real.post(
                    "/api/bots/loja/messages",
                    json={"message_id": "t2", "text": "tem alguém?"},
                    headers=web,
                )
                assert said.status_code == 200
                while (await next_event(agent_events, "message")).data["message"]["text"] != (
                    "tem alguém?"
                ):
                    pass  # the agent's stream is watching the conversation now
                before = (await real.get(f"{base}/messages", headers=ana)).json()

                typing = await real.post(f"/api/conversations/{conversation}/typing", headers=web)
                assert typing.status_code == 204, typing.text
                shown = await next_event(agent_events, "typing")
                assert shown.data == {"conversation_id": conversation, "from": "customer"}

                typing = await real.post(f"{base}/typing", headers=ana)
                assert typing.status_code == 204, typing.text
                shown = await next_event(chat_events, "typing")
                assert shown.data == {"from": "agent"}

                after = (await real.get(f"{base}/messages", headers=ana)).json()
                assert after == before  # ephemeral: never in the transcript

            # who may: another session, another agent
            other = (await real.post("/api/bots/loja/web-sessions")).json()["token"]
            stranger = await real.post(
                f"/api/conversations/{conversation}/typing",
                headers={"Authorization": f"Bearer {other}"},
            )
            assert stranger.status_code == 404
            assert (await real.post(f"{base}/typing", headers=beto)).status_code == 403
            # rate-limited per side: 3 a minute here
            for _ in range(2):
                await real.post(f"/api/conversations/{conversation}/typing", headers=web)
            limited = await real.post(f"/api/conversations/{conversation}/typing", headers=web)
            assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
            assert (await real.post(f"{base}/typing", headers=ana)).status_code == 204
