"""The conversation keeps its timer across turns (patch `keep-timer`, workflows/kept_timer.py):
a turn adds no timer commands, and the idle end still comes a whole limit after the last turn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from tests.conftest import conversation_handle, conversation_wid, running_stack
from workflows.timers import IDLE_LIMIT

pytestmark = pytest.mark.asyncio

ECO = """
bot: eco
start: menu
blocks:
  menu:
    type: menu
    text: Escolha uma opção
    options:
      - {label: De novo, next: menu}
"""


def turn(contact: str, n: int) -> dict[str, str]:
    """The n-th message: "oi" starts the conversation, "1" picks the menu's only option."""
    return {"contact_id": contact, "message_id": f"m{n}", "text": "1" if n else "oi"}


async def test_turns_do_not_rearm_the_idle_timer(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, ECO) as http:
        for n in range(6):
            answer = await http.post("/api/bots/eco/messages", json=turn("k1", n))
            assert answer.status_code == 200, answer.text
            assert [r["text"] for r in answer.json()["replies"]] == [
                "Escolha uma opção\n1. De novo"
            ]
        handle = conversation_handle(time_env, conversation_wid("eco", "k1"))
        kinds = [event.event_type async for event in handle.fetch_history_events()]
    updates = kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    assert updates == 6
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds
    # the idle timer once, and the recording delay's timer (one per batch, not per turn)
    assert kinds.count(EventType.EVENT_TYPE_TIMER_STARTED) <= 2


async def test_the_idle_end_counts_from_the_last_turn(time_env, settings, engine):
    async with running_stack(time_env, settings, engine, ECO) as http:
        for n in range(4):  # engaged from the second on (24 h limit); then 10 h between turns
            answer = await http.post("/api/bots/eco/messages", json=turn("k2", n))
            assert answer.status_code == 200, answer.text
            if n in (1, 2):
                await time_env.sleep(timedelta(hours=10))
        handle = conversation_handle(time_env, conversation_wid("eco", "k2"))
        async with time_env.time_skipping_unlocked():
            snapshot = await handle.result()
        events = [event async for event in handle.fetch_history_events()]
        transcript = (
            await http.get(f"/api/conversations/{snapshot.conversation_id}/messages")
        ).json()
    assert snapshot.status == "ended"
    assert transcript[-1]["text"] == "Conversa encerrada por inatividade."
    last_turn = max(
        e.event_time.ToDatetime()
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    )
    closed = events[-1].event_time.ToDatetime()
    assert closed - last_turn >= IDLE_LIMIT
    assert closed - last_turn < IDLE_LIMIT + timedelta(hours=1)
    started = kinds_of(events).count(EventType.EVENT_TYPE_TIMER_STARTED)
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds_of(events)
    assert started >= 2  # fired at the first turn's deadline, armed again for the rest


def kinds_of(events: list) -> list[int]:  # type: ignore[type-arg]
    return [event.event_type for event in events]
