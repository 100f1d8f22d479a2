"""A service's webhook receiver that is down does not keep a conversation from continuing as
new (patch `webhooks-carried`, workflows/webhook_events.py): the events not delivered yet, the
one in flight included, travel into the next run and reach the receiver there, in order, once
it is back; each keeps the 24 h give-up counted from its first attempt.

Each run here takes two customer messages (`max_messages_per_run`); the service Suporte's
receiver is a loopback server answering 503 until the test brings it up.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from temporalio import workflow
from temporalio.workflow import NondeterminismError

from tests.conftest import conversation_handle, conversation_wid, pydantic_client, running_stack
from tests.live import eventually
from tests.test_handoff import Omni, flow, into_queue, publish, say, setup_omni
from tests.test_replay import HISTORIES, load, replayer
from workflows.contracts import ConversationInput, ConversationSnapshot
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio


class Receiver:
    """A webhook receiver on loopback: 503 while `down`, 204 after; every request kept with
    the status it got."""

    def __init__(self) -> None:
        self.down = True
        self.requests: list[tuple[int, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 503 if receiver.down else 204
                receiver.requests.append((status, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/eventos"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[dict[str, Any]]:
        """The events the receiver took (answered 2xx), each id once, in the order they came."""
        events: dict[str, dict[str, Any]] = {}
        for status, event in self.requests:
            if status == 204:
                events.setdefault(event["id"], event)
        return list(events.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@asynccontextmanager
async def chatting_while_down(
    time_env, settings, engine, contact: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Omni, str, Receiver]]:
    """`contact` queued in Suporte, whose webhook receiver is down; the run due to continue as
    new (two customer messages). On the way out the receiver is up and the test has ended the
    conversation: its last run completes."""
    settings.max_messages_per_run = 2
    receiver = Receiver()
    try:
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, webhook={"enabled": True, "url": receiver.url})
            await publish(http, flow(omni.key))
            conversation = (await into_queue(http, contact))["conversation_id"]
            try:
                yield http, omni, conversation, receiver
            finally:
                receiver.down = False
            handle = conversation_handle(time_env, conversation_wid("loja", contact))
            async with time_env.time_skipping_unlocked():
                assert (await handle.result()).status == "ended"
    finally:
        receiver.close()


async def runs(time_env, contact: str) -> int:
    """How many runs the conversation has had (the chain of continue-as-new)."""
    client = pydantic_client(time_env)
    run_id, count = "", 0
    while True:
        history = await client.get_workflow_handle(
            conversation_wid("loja", contact), run_id=run_id or None
        ).fetch_history()
        count += 1
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
        if not run_id:
            return count


async def continued(time_env, contact: str, at_least: int) -> None:
    async def enough() -> int | None:
        count = await runs(time_env, contact)
        return count if count >= at_least else None

    await eventually(enough, f"run {at_least} of the conversation")


async def agent(http: httpx.AsyncClient, omni: Omni, conversation: str, action: str, **body: Any):
    done = await http.post(
        f"/api/agent/conversations/{conversation}/{action}",
        json=body or None,
        headers=omni.agent("Ana"),
    )
    assert done.status_code == 200, done.text


async def test_the_conversation_continues_as_new_while_the_webhook_is_down_and_its_events_follow(
    time_env, settings, engine
):
    async with chatting_while_down(time_env, settings, engine, "carrega") as (
        http,
        omni,
        conversation,
        receiver,
    ):
        await continued(time_env, "carrega", 2)  # queued: its `queued` event travels along
        await agent(http, omni, conversation, "pickup")
        await agent(http, omni, conversation, "messages", text="Olá, sou a Ana.")
        await time_env.sleep(timedelta(minutes=30))  # `queued` retried meanwhile
        await say(http, "carrega", "carrega-3", "preciso da segunda via")
        await say(http, "carrega", "carrega-4", "obrigado")  # the second run's second
        await continued(time_env, "carrega", 3)  # the delivery in flight travels too
        assert receiver.requests and all(status == 503 for status, _ in receiver.requests)

        receiver.down = False
        await time_env.sleep(timedelta(minutes=15))  # the next retry goes through

        async def all_in() -> list[dict[str, Any]] | None:
            events = receiver.delivered()
            return events if len(events) == 5 else None

        await eventually(all_in, "the carried events delivered once the receiver is up")
        await agent(http, omni, conversation, "finish", return_to_bot=True)
        turn = await say(http, "carrega", "carrega-5", "2")
        assert turn["replies"][-1]["text"] == "Até logo!"
    events = receiver.delivered()
    assert [(e["type"], e["data"].get("from"), e["data"].get("text")) for e in events] == [
        ("conversation.queued", None, None),
        ("conversation.picked_up", None, None),
        ("conversation.message", "agent", "Olá, sou a Ana."),
        ("conversation.message", "customer", "preciso da segunda via"),
        ("conversation.message", "customer", "obrigado"),
        ("conversation.finished", None, None),
    ]
    assert {e["data"]["conversation_id"] for e in events} == {conversation}
    for status, event in receiver.requests:  # a repeat is the same event, under the same id
        assert event == next(e for e in events if e["id"] == event["id"]), status
    assert await runs(time_env, "carrega") == 3


async def test_a_carried_event_is_given_up_a_day_after_its_first_attempt_not_a_day_per_run(
    time_env, settings, engine, caplog
):
    caplog.set_level(logging.ERROR)
    async with chatting_while_down(time_env, settings, engine, "prazo") as (
        http,
        omni,
        conversation,
        receiver,
    ):
        await continued(time_env, "prazo", 2)  # `queued` first tried in the second run
        await agent(http, omni, conversation, "pickup")
        await time_env.sleep(timedelta(hours=20))
        await say(http, "prazo", "prazo-3", "ainda aí?")
        await say(http, "prazo", "prazo-4", "alô")
        await continued(time_env, "prazo", 3)  # `queued` in flight, 4 h before its give-up
        await time_env.sleep(timedelta(hours=5))  # its day is over: `picked_up` is tried now
        receiver.down = False
        await time_env.sleep(timedelta(minutes=15))

        async def the_rest() -> list[dict[str, Any]] | None:
            events = receiver.delivered()
            return events if len(events) >= 3 else None

        await eventually(the_rest, "the events after the given-up one")
        await agent(http, omni, conversation, "finish", return_to_bot=False)
    tried = [event for _, event in receiver.requests if event["type"] == "conversation.queued"]
    assert tried  # it was tried while the receiver was down, never once it was up
    assert {status for status, e in receiver.requests if e["type"] == "conversation.queued"} == {
        503
    }
    assert [e["type"] for e in receiver.delivered()] == [
        "conversation.picked_up",
        "conversation.message",
        "conversation.message",
        "conversation.finished",
    ]
    given_up = f"webhook event {tried[0]['id']} (queued) not delivered"
    assert any(given_up in record.getMessage() for record in caplog.records)


@workflow.defn(name="ConversationWorkflow")
class CarriesUnasked(ConversationWorkflow):
    """Due to continue as new with a webhook event pending, it carries it along without asking
    the patch `webhooks-carried`."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    def _carry_when_due(self) -> None:
        self._carry_asked_when_pending = True
        if self._webhook_outbox:
            self._carried = True


async def test_a_run_that_waited_for_its_webhook_replays_only_through_the_patch() -> None:
    """Recorded before the patch, a run due to continue as new lived on until its webhook went
    through; it replays (tests/test_replay.py) because the patch says it did not carry it."""
    path = next(
        p for p in HISTORIES if p.stem == "continue_while_delivering.continue-when-idle.run1"
    )
    result = await replayer(CarriesUnasked).replay_workflow(
        load(path), raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, NondeterminismError), result.replay_failure
    result = await replayer(ConversationWorkflow).replay_workflow(
        load(path), raise_on_replay_failure=False
    )
    assert result.replay_failure is None
