"""A conversation that ends while its last turn's batch waits out the recording delay records
at once and closes (patch `record-at-end`, workflows/message_log.py): its transcript and status
are in SQL when the run ends, and the run ends in the ending workflow task, not a delay later
after a timer, a workflow task and a marker of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from tests.conftest import conversation_handle, conversation_wid, running_stack

pytestmark = pytest.mark.asyncio

SAIDA = """
bot: saida
start: menu
blocks:
  menu:
    type: menu
    text: Escolha uma opção
    options:
      - {label: Continuar, next: menu}
      - {label: Sair, next: fim}
  fim: {type: end, text: Até logo!}
"""


async def test_an_ending_conversation_records_and_closes_at_once(time_env, settings, engine):
    settings.record_delay_seconds = 30  # a batch would wait this long for its timer
    async with running_stack(time_env, settings, engine, SAIDA) as http:
        for n, text in enumerate(("oi", "1", "2")):
            body = {"contact_id": "k1", "message_id": f"m{n}", "text": text}
            answer = await http.post("/api/bots/saida/messages", json=body)
            assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "ended"
        handle = conversation_handle(time_env, conversation_wid("saida", "k1"))
        async with time_env.time_skipping_unlocked():
            snapshot = await handle.result()
        events = [event async for event in handle.fetch_history_events()]
        transcript = (
            await http.get(f"/api/conversations/{snapshot.conversation_id}/messages")
        ).json()
        conversation = (await http.get(f"/api/conversations/{snapshot.conversation_id}")).json()
    assert transcript[-1]["text"] == "Até logo!"
    assert conversation["status"] == "ended"
    kinds = [event.event_type for event in events]
    assert EventType.EVENT_TYPE_TIMER_FIRED not in kinds  # the batch did not wait its delay
    last_update = max(
        i
        for i, kind in enumerate(kinds)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    )
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in kinds[last_update:]
    closed = events[-1].event_time.ToDatetime()
    ended = events[last_update].event_time.ToDatetime()
    assert closed - ended < timedelta(seconds=30)
