"""A conversation started now runs at the current code version (workflows/patches.py): what ops
and the Temporal Cloud bill see is its history, so the tests read the history.

- no patch marker and no `TemporalChangeVersion` upsert (2 events, 2 billable actions a run);
- the idle timer closes with the run, not cancelled just before it (1 event);
- what the customer and the log see is the same: the bot's last words, the conversation ended.
"""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from store.conversations import get_conversation, messages_after
from tests.conftest import conversation_handle, conversation_wid, pydantic_client, running_stack
from tests.test_handoff import flow, into_queue, publish, say, setup_omni, texts
from workflows.contracts import ConversationInput
from workflows.patches import CODE_VERSION

pytestmark = pytest.mark.asyncio

PATCH_MARKER = "core_patch"
"""The marker name `workflow.patched` records (Temporal's core)."""
CHANGE_VERSION = "TemporalChangeVersion"
"""The search attribute core upserts with every patch marker."""


async def started_input(env, history: WorkflowHistory) -> ConversationInput:  # type: ignore[no-untyped-def]
    """The run's input, as its first event holds it (decrypted)."""
    started = history.events[0].workflow_execution_started_event_attributes
    [value] = await pydantic_client(env).data_converter.decode(
        started.input.payloads, [ConversationInput]
    )
    assert isinstance(value, ConversationInput)
    return value


def patch_events(events: list[HistoryEvent]) -> list[HistoryEvent]:
    """The events a patch costs: its marker and core's `TemporalChangeVersion` upsert."""
    return [
        event
        for event in events
        if event.marker_recorded_event_attributes.marker_name == PATCH_MARKER
        or CHANGE_VERSION
        in event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    ]


async def test_a_new_run_takes_every_patch_without_a_marker(time_env, settings, any_engine):
    """A handoff (hand-over, pickup, finish, back to the bot, the bot ends it): every bundled
    patch's path is taken, and the history has none of a patch's events."""
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "7001"))["conversation_id"]
        agent = omni.agent("Ana")
        base = f"/api/agent/conversations/{conversation}"
        assert (await http.post(f"{base}/pickup", headers=agent)).status_code == 200
        sent = await http.post(f"{base}/messages", json={"text": "Olá!"}, headers=agent)
        assert sent.status_code == 200, sent.text
        finished = await http.post(f"{base}/finish", json={"return_to_bot": True}, headers=agent)
        assert finished.status_code == 200, finished.text
        last = await say(http, "7001", "7001-3", "2")
        assert texts(last)[-1] == "Até logo!" and last["status"] == "ended"
        handle = conversation_handle(time_env, conversation_wid("loja", "7001"))
        assert (await handle.result()).status == "ended"
        history = await handle.fetch_history()
        row = get_conversation(any_engine, conversation)
        logged = [m.text for m in messages_after(any_engine, conversation)]
    assert (await started_input(time_env, history)).code_version == CODE_VERSION == 5
    events = list(history.events)
    assert patch_events(events) == []
    # The local activities' markers are there: the hand-over's (patch `hand-over-at-once`),
    # taken without asking; the messages were written ahead (patch `log-ahead`) and the
    # backstop before the run closed was a local one (patch `backstop-local`), unasked too.
    assert any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED for e in events)
    # Timers cancelled where a deadline moved earlier (queued: the abandonment's) or none runs
    # (picked up: an agent has the chat); the idle timer pending when the bot ended the
    # conversation closed with the run, not cancelled in the ending workflow task.
    kinds = [event.event_type for event in events]
    last_update = max(
        i
        for i, k in enumerate(kinds)
        if k == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    )
    started, fired, cancelled = (
        kinds.count(kind)
        for kind in (
            EventType.EVENT_TYPE_TIMER_STARTED,
            EventType.EVENT_TYPE_TIMER_FIRED,
            EventType.EVENT_TYPE_TIMER_CANCELED,
        )
    )
    assert started - fired - cancelled == 1
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds[last_update:]
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert row is not None and row.status == "ended"
    assert logged[-1] == "Até logo!"


async def test_an_idle_end_closes_with_its_timer(time_env, settings, engine):
    """The idle timer itself ends the conversation: fired, nothing to cancel, as before."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        await say(http, "7002", "7002-1", "oi")
        handle = conversation_handle(time_env, conversation_wid("loja", "7002"))
        async with time_env.time_skipping_unlocked():
            snapshot = await handle.result()
        history = await handle.fetch_history()
        logged = [m.text for m in messages_after(engine, snapshot.conversation_id)]
    assert snapshot.status == "ended"
    assert logged[-1] == "Conversa encerrada por inatividade."
    assert patch_events(list(history.events)) == []
    kinds = [event.event_type for event in history.events]
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds
