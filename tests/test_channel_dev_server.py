"""The channel API against the real Temporal dev server: SSE over real HTTP, search attributes
and summary as the Temporal UI shows them, and a message accepted (202) while no worker runs."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from api.app import create_app
from api.usecases.publishing import publish_source
from tests.conftest import (
    api_client,
    contact_hash,
    conversation_wid,
    pydantic_client,
    running_stack,
)
from tests.live import DEADLINE_SECONDS, Event, eventually, serving, sse_events
from worker import build_worker
from workflows.conversation import ConversationWorkflow
from workflows.search_attributes import BOT, CONTACT, STATUS

pytestmark = pytest.mark.asyncio

LOJA_YAML = (Path(__file__).resolve().parents[1] / "flows" / "loja.yaml").read_text("utf-8")
MENU = "Como posso ajudar?"
HOURS = "Nosso time atende de segunda a sexta"


def say(contact: str, message_id: str, text: str) -> dict[str, str]:
    return {"contact_id": contact, "message_id": message_id, "text": text}


def texts(turn: dict[str, Any]) -> list[str]:
    return [reply["text"] for reply in turn["replies"]]


async def test_sse_stream_delivers_every_message_in_order_and_resumes(dev_env, settings, engine):
    contact = f"sse-{uuid.uuid4().hex[:8]}"
    async with running_stack(dev_env, settings, engine, LOJA_YAML) as http:
        first = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
        assert first.status_code == 200, first.text
        conversation_id = first.json()["conversation_id"]
        stream_path = f"/api/conversations/{conversation_id}/stream"
        app = create_app(settings, engine=engine, client=pydantic_client(dev_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS, auth=http.auth) as real,
            asyncio.timeout(DEADLINE_SECONDS),
        ):
            seen: list[Event] = []
            async with real.stream("GET", stream_path) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                events = sse_events(response)
                while len(seen) < 3:  # the first turn: "oi", greeting, menu
                    seen.append(await anext(events))
                # Live: messages sent now arrive on the open stream.
                hours = await http.post("/api/bots/loja/messages", json=say(contact, "m2", "3"))
                assert texts(hours.json())[0].startswith(HOURS)
                while len(seen) < 6:
                    seen.append(await anext(events))
                human = await http.post("/api/bots/loja/messages", json=say(contact, "m3", "2"))
                assert human.json()["status"] == "ended"  # no Omni key: Humano is unavailable
                async for event in events:
                    seen.append(event)
                    if event.event == "end":
                        break
            assert seen[-1].event == "end"
            messages = [e for e in seen if e.event == "message"]
            assert [e.id for e in messages] == [str(n) for n in range(1, len(messages) + 1)]
            assert [e.data["seq"] for e in messages] == list(range(1, len(messages) + 1))
            transcript = (await http.get(f"/api/conversations/{conversation_id}/messages")).json()
            assert [e.data for e in messages] == transcript
            assert [m["text"] for m in transcript if m["from"] == "customer"] == ["oi", "3", "2"]
            assert messages[-1].data["text"] == "Obrigado pelo contato!"

            # A client that saw up to seq 3 reconnects and gets the rest, then the end.
            headers = {"Last-Event-ID": "3"}
            async with real.stream("GET", stream_path, headers=headers) as response:
                resumed = [e async for e in sse_events(response)]
            assert resumed[-1].event == "end"
            assert [e.data for e in resumed[:-1]] == transcript[3:]
            assert [e.id for e in resumed[:-1]] == [str(m["seq"]) for m in transcript[3:]]
            bad = await real.get(stream_path, headers={"Last-Event-ID": "x"})
            assert bad.status_code == 400


async def test_search_attributes_and_summary_show_the_conversation(dev_env, settings, engine):
    contact = f"sa-{uuid.uuid4().hex[:8]}"
    client = pydantic_client(dev_env)
    async with running_stack(dev_env, settings, engine, LOJA_YAML) as http:
        turn = (await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))).json()
        workflow_id = conversation_wid("loja", contact)
        query = f'Bot = "loja" AND ContactId = "{contact_hash(contact)}"'

        async def listed(status: str) -> Any:
            async for execution in client.list_workflows(query):
                attributes = execution.typed_search_attributes
                if attributes.get(STATUS) == status:
                    return execution
            return None

        running = await eventually(lambda: listed("bot"), "the conversation in visibility")
        assert running.id == workflow_id
        assert running.typed_search_attributes.get(BOT) == "loja"
        assert running.typed_search_attributes.get(CONTACT) == contact_hash(contact)
        description = await client.get_workflow_handle(workflow_id).describe()
        summary = await description.static_summary()
        assert summary is not None and contact_hash(contact) in summary and "loja" in summary
        assert contact not in summary

        leave = await http.post(f"/api/conversations/{turn['conversation_id']}/leave")
        assert leave.status_code == 202
        await client.get_workflow_handle_for(ConversationWorkflow.run, workflow_id).result()

        async def closed() -> Any:
            """Visibility trails the history: the `ended` attribute can be listed while the
            record still says RUNNING; wait for the completed record."""
            found = await listed("ended")
            return found if found and found.status == WorkflowExecutionStatus.COMPLETED else None

        await eventually(closed, "ConversationStatus = ended, completed")
        by_status = [
            e.id async for e in client.list_workflows(f'{query} AND ConversationStatus = "ended"')
        ]
        assert by_status == [workflow_id]


async def test_a_message_is_accepted_without_a_worker_and_answered_later(dev_env, settings, engine):
    settings.reply_timeout_seconds = 1
    contact = f"202-{uuid.uuid4().hex[:8]}"
    client = pydantic_client(dev_env)
    publish_source(engine, "loja", LOJA_YAML)
    app = create_app(settings, engine=engine, client=client)
    async with api_client(app) as http:
        accepted = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["status"] == "accepted"
        assert accepted.json()["replies"] == []
        cid = accepted.json()["conversation_id"]  # known at once, though no worker runs
        waiting = await http.get(f"/api/conversations/{cid}")
        assert waiting.status_code == 200 and waiting.json()["conversation_id"] == cid

        with ThreadPoolExecutor(max_workers=4) as executor:
            async with build_worker(client, engine, settings.task_queue, executor):

                async def answered() -> list[dict[str, Any]] | None:
                    messages = (await http.get(f"/api/conversations/{cid}/messages")).json()
                    return messages if len(messages) >= 3 else None

                transcript = await eventually(answered, "the replies to the accepted message")
                assert [m["from"] for m in transcript] == ["customer", "bot", "bot"]
                assert transcript[0]["text"] == "oi"
                assert transcript[2]["text"].startswith(MENU)

                again = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
                assert again.status_code == 200, again.text
                assert again.json()["conversation_id"] == cid
                assert again.json()["replies"] == transcript[1:]
                following = await http.post("/api/bots/loja/messages", json=say(contact, "m2", "3"))
                assert following.status_code == 200
                assert texts(following.json())[0].startswith(HOURS)
                last_reply = following.json()["replies"][-1]["seq"]

                async def recorded() -> list[dict[str, Any]] | None:
                    """The transcript once the log (written after the reply) has the turn."""
                    messages = (await http.get(f"/api/conversations/{cid}/messages")).json()
                    return messages if messages[-1]["seq"] >= last_reply else None

                final = await eventually(recorded, "the second turn in the transcript")
                customer = [m["text"] for m in final if m["from"] == "customer"]
                assert customer == ["oi", "3"]  # the accepted message once, not twice
                assert [m["seq"] for m in final] == list(range(1, len(final) + 1))

                await http.post(f"/api/conversations/{cid}/leave")
                handle = client.get_workflow_handle(conversation_wid("loja", contact))
                await handle.result()
