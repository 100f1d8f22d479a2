"""Load shedding (api/shedding.py): past its limit of Temporal calls in flight, the API answers
503 `overloaded` with Retry-After at once instead of piling up; the slot is given back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from api.app import create_app
from api.shedding import gate_of
from api.usecases.publishing import publish_source
from tests.conftest import api_client, conversation_wid, pydantic_client
from tests.live import eventually
from transbordo.stack import running

pytestmark = pytest.mark.asyncio

LOJA_YAML = (Path(__file__).resolve().parents[1] / "flows" / "loja.yaml").read_text("utf-8")


def say(contact: str) -> dict[str, str]:
    return {"contact_id": contact, "message_id": "m1", "text": "oi"}


async def test_past_the_limit_a_message_is_refused_with_503_overloaded(dev_env, settings, engine):
    # No worker polls the task queue: the first message's update-with-start stays in flight
    # (up to reply_timeout_seconds) and holds the only slot.
    settings.max_temporal_calls_in_flight = 1
    settings.overload_retry_after_seconds = 3
    settings.reply_timeout_seconds = 600
    client = pydantic_client(dev_env)
    publish_source(engine, "loja", LOJA_YAML)
    app = create_app(settings, engine=engine, client=client)
    held_contact = f"held-{uuid.uuid4().hex[:8]}"
    async with api_client(app) as http:
        gate = gate_of(app.state.temporal)
        assert gate is not None and gate.in_flight == 0
        held = asyncio.create_task(http.post("/api/bots/loja/messages", json=say(held_contact)))

        async def holding() -> bool | None:
            return True if gate.in_flight == 1 else None

        await eventually(holding, "the first message's Update in flight")
        refused = await http.post("/api/bots/loja/messages", json=say(f"c-{uuid.uuid4().hex}"))
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "overloaded"
        assert refused.headers["Retry-After"] == "3"

        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        assert gate.in_flight == 0  # the slot is given back when its call ends
        await client.get_workflow_handle(conversation_wid("loja", held_contact)).terminate()


async def test_under_the_limit_calls_pass_and_give_their_slot_back(time_env, settings, engine):
    settings.max_temporal_calls_in_flight = 2
    async with running(pydantic_client(time_env), settings, engine, flows=[LOJA_YAML]) as stack:
        gate = gate_of(stack.app.state.temporal)
        assert gate is not None
        for i in range(3):
            turn = await stack.http.post("/api/bots/loja/messages", json=say(f"u{i}"))
            assert turn.status_code == 200, turn.text
        assert gate.in_flight == 0
