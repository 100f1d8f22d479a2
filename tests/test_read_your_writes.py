"""Read-your-writes on the real dev server, on SQLite and PostgreSQL: once a customer message
answers 200, `GET .../messages` already holds it and its replies (the API writes the turn; the
workflow's record of the same seqs follows and changes nothing), and an open stream delivers
them through the process's stream hub, in order, each once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from tests.conftest import admin_headers, pydantic_client
from tests.live import DEADLINE_SECONDS, Event, eventually, sse_events
from tests.test_hand_over_retry import failing_log
from transbordo.settings import Settings
from transbordo.stack import running

pytestmark = pytest.mark.asyncio

LOJA_YAML = (Path(__file__).resolve().parents[1] / "flows" / "loja.yaml").read_text("utf-8")


def say(contact: str, message_id: str, text: str) -> dict[str, str]:
    return {"contact_id": contact, "message_id": message_id, "text": text}


async def transcript(http: httpx.AsyncClient, conversation_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    return list(response.json())


async def writes_behind(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics", headers=admin_headers())).text
    [line] = [x for x in text.splitlines() if x.startswith("transbordo_log_writes_behind_total")]
    return float(line.split()[-1])


def turn_of(answer: dict[str, Any], text: str, log: list[dict[str, Any]]) -> None:
    """`log` ends with the customer's `text` and then exactly the replies of `answer`."""
    replies = answer["replies"]
    customer = log[-len(replies) - 1]
    assert (customer["from"], customer["text"]) == ("customer", text)
    assert log[-len(replies) :] == replies


async def test_after_a_200_the_transcript_and_the_stream_hold_the_turn(
    dev_env: WorkflowEnvironment, settings: Settings, any_engine: sa.Engine
) -> None:
    contact = f"ryw-{uuid.uuid4().hex[:8]}"
    client = pydantic_client(dev_env)
    async with running(client, settings, any_engine, flows=[LOJA_YAML], served=True) as stack:
        http = stack.http
        first = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
        assert first.status_code == 200, first.text
        conversation_id = first.json()["conversation_id"]
        log = await transcript(http, conversation_id)  # at once: no waiting for the record
        turn_of(first.json(), "oi", log)
        assert [m["seq"] for m in log] == list(range(1, len(log) + 1))

        path = f"/api/conversations/{conversation_id}/stream"
        async with asyncio.timeout(DEADLINE_SECONDS), http.stream("GET", path) as response:
            events = sse_events(response)
            seen: list[Event] = [await anext(events) for _ in log]
            assert [e.data for e in seen] == log

            second = await http.post("/api/bots/loja/messages", json=say(contact, "m2", "3"))
            assert second.status_code == 200, second.text
            log = await transcript(http, conversation_id)
            turn_of(second.json(), "3", log)
            while len(seen) < len(log):
                seen.append(await anext(events))
            assert [e.data for e in seen] == log
            assert [e.id for e in seen] == [str(m["seq"]) for m in log]


async def test_a_turn_the_api_could_not_write_reaches_the_transcript_by_the_record(
    dev_env: WorkflowEnvironment, settings: Settings, any_engine: sa.Engine
) -> None:
    """The API's write of a first turn fails (the log refuses inserts): the customer still
    gets the bot's answer and the conversation's row, and once the log is back the
    workflow's own record brings the turn: nothing is lost."""
    contact = f"ryw-{uuid.uuid4().hex[:8]}"
    client = pydantic_client(dev_env)
    async with running(client, settings, any_engine, flows=[LOJA_YAML], served=True) as stack:
        http = stack.http
        before = await writes_behind(http)
        with failing_log(any_engine):
            first = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
            assert first.status_code == 200, first.text
            conversation_id = first.json()["conversation_id"]
            assert first.json()["replies"]
            row = await http.get(f"/api/conversations/{conversation_id}")
            assert row.status_code == 200 and row.json()["status"] == "bot", row.text
            assert await transcript(http, conversation_id) == []

        async def recorded() -> list[dict[str, Any]] | None:
            log = await transcript(http, conversation_id)
            return log or None

        turn_of(first.json(), "oi", await eventually(recorded, "the workflow's record"))
        assert await writes_behind(http) == before + 1  # ops see it on /metrics
