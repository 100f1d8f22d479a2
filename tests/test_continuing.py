"""A run due to continue as new while a service's webhook receiver is down (workflows/continuing.py,
webhook_events.py): the conversation goes on (timers fire, the customer may leave, agents and
customer are served), the run continues as new with the undelivered events carried, and they
reach the receiver, in order, once it is up. (A run kept living until a channel send or a mail
drains is the same main loop; the runs recorded before `webhooks-carried` replay that way:
tests/test_replay.py.)

Each run here takes two customer messages (`max_messages_per_run`), so the customer's second
message, the one that queues them, makes the run due while the service's webhook receiver (a
loopback server answering 503) is down: its `queued` event is retried with backoff.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause

from tests.conftest import conversation_handle, conversation_wid, pydantic_client, running_stack
from tests.live import eventually
from tests.test_conversation import LOJA
from tests.test_handoff import Omni, Receiver, flow, into_queue, publish, say, setup_omni
from tests.test_run_version import started_input
from workflows.contracts import Message
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio

DOWN = 10**9
"""Failures a receiver answers before it takes events: down until the test brings it up."""


@asynccontextmanager
async def queued_while_down(
    time_env, settings, engine, contact: str, **suporte: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Omni, str, Receiver]]:
    """`contact` waits in Suporte (the service's settings `suporte`), their run due to continue
    as new, Suporte's webhook receiver down. On the way out the receiver comes up and the
    conversation (ended by the test, or by its leaving) finishes its run."""
    settings.max_messages_per_run = 2
    receiver = Receiver(failures=DOWN)
    try:
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, webhook={"enabled": True, "url": receiver.url}, **suporte)
            await publish(http, flow(omni.key))
            conversation = (await into_queue(http, contact))["conversation_id"]
            try:
                yield http, omni, conversation, receiver
            finally:  # up even when the test failed: its run does not retry a day of events
                receiver.failures = 0
            handle = conversation_handle(time_env, conversation_wid("loja", contact))
            async with time_env.time_skipping_unlocked():
                assert (await handle.result()).status == "ended"
    finally:
        receiver.close()


async def transcript(http: httpx.AsyncClient, conversation: str) -> list[dict[str, Any]]:
    said: list[dict[str, Any]] = (
        await http.get(f"/api/conversations/{conversation}/messages")
    ).json()
    return said


async def queue_of(http: httpx.AsyncClient, omni: Omni) -> list[str]:
    waiting = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
    return [entry["conversation_id"] for entry in waiting]


def at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["at"])


def delivered(receiver: Receiver) -> list[dict[str, Any]]:
    """The events the receiver took once it was up (each id once: the attempts before it
    failed), in the order they came."""
    events: dict[str, dict[str, Any]] = {}
    for _, body in receiver.received:
        event = json.loads(body)
        events[event["id"]] = event
    return list(events.values())


async def test_a_queued_customer_is_abandoned_on_time_while_a_webhook_is_down(
    time_env, settings, engine
):
    async with queued_while_down(time_env, settings, engine, "esquecido") as (
        http,
        omni,
        conversation,
        receiver,
    ):
        await time_env.sleep(timedelta(seconds=150))  # Suporte abandons after 120 s

        async def abandoned() -> list[dict[str, Any]] | None:
            said = await transcript(http, conversation)
            return said if said[-1]["text"] == "Até logo!" else None

        said = await eventually(abandoned, "the abandonment while the webhook is down")
        assert conversation not in await queue_of(http, omni)
        assert DOWN - receiver.failures > 0  # attempts made, every one refused: down all along
    queued = next(m for m in said if m["text"] == "Vou te transferir para um especialista.")
    notice = next(m for m in said if m["text"] == "Atendimento encerrado por inatividade.")
    assert round((at(notice) - at(queued)).total_seconds()) == 120  # on time, not a day late
    assert [e["type"] for e in delivered(receiver)] == [
        "conversation.queued",
        "conversation.abandoned",
    ]


async def test_a_customer_who_leaves_while_a_webhook_is_down_leaves_the_queue(
    time_env, settings, engine
):
    async with queued_while_down(time_env, settings, engine, "saiu-cedo") as (
        http,
        omni,
        conversation,
        receiver,
    ):
        left = await http.post(f"/api/conversations/{conversation}/leave")
        assert left.status_code == 202

        async def gone() -> list[dict[str, Any]] | None:
            said = await transcript(http, conversation)
            waiting = await queue_of(http, omni)
            out = said[-1]["text"] == "O cliente saiu da conversa." and conversation not in waiting
            return said if out else None

        await eventually(gone, "the customer out of the queue while the webhook is down")
        info = (await http.get(f"/api/conversations/{conversation}")).json()
        assert info["status"] == "ended"
    abandoned = delivered(receiver)[-1]
    assert abandoned["type"] == "conversation.abandoned"
    assert abandoned["data"]["reason"] == "left"


async def test_while_the_webhook_is_down_the_run_continues_as_new_and_the_conversation_goes_on(
    time_env, settings, engine
):
    cards = [{"title": "Enquanto espera", "text": "Veja nosso site"}]
    notifications = {"enabled": True, "interval_seconds": 60, "cards": cards}
    async with queued_while_down(
        time_env,
        settings,
        engine,
        "longa",
        abandon_seconds=3600,
        queue_notifications=notifications,
    ) as (http, omni, conversation, receiver):
        handle = conversation_handle(time_env, conversation_wid("loja", "longa"))
        await time_env.sleep(timedelta(seconds=90))  # the queue's card at 60 s

        async def carded() -> list[dict[str, Any]] | None:
            said = await transcript(http, conversation)
            return said if any(m["kind"] == "card" for m in said) else None

        await eventually(carded, "the queue's card while the webhook is down")
        # served all the same: the agent picks the customer up, they talk
        base = f"/api/agent/conversations/{conversation}"
        picked = await http.post(f"{base}/pickup", headers=omni.agent("Ana"))
        assert picked.status_code == 200, picked.text
        sent = await http.post(
            f"{base}/messages", json={"text": "Olá, sou a Ana."}, headers=omni.agent("Ana")
        )
        assert sent.status_code == 200, sent.text
        turn = await say(http, "longa", "longa-3", "preciso da segunda via")
        assert [r["text"] for r in turn["replies"]][-1] == "Olá, sou a Ana."
        sent = await http.post(
            f"{base}/messages", json={"text": "Segunda via enviada."}, headers=omni.agent("Ana")
        )
        assert sent.status_code == 200, sent.text
        turn = await say(http, "longa", "longa-4", "obrigado")  # the second run's second
        assert [r["text"] for r in turn["replies"]] == ["Segunda via enviada."]
        assert DOWN - receiver.failures > 0  # attempts made, every one refused: down all along
        finished = await http.post(
            f"{base}/finish", json={"return_to_bot": True}, headers=omni.agent("Ana")
        )
        assert finished.status_code == 200, finished.text
        turn = await say(http, "longa", "longa-5", "2")
        assert turn["replies"][-1]["text"] == "Até logo!"
        said = await transcript(http, conversation)
        histories = [await handle.fetch_history()]
        while previous := histories[-1].events[0].workflow_execution_started_event_attributes:
            if not previous.continued_execution_run_id:
                break
            run = pydantic_client(time_env).get_workflow_handle(
                handle.id, run_id=previous.continued_execution_run_id
            )
            histories.append(await run.fetch_history())
    assert [m["seq"] for m in said] == list(range(1, len(said) + 1))
    assert [(m["from"], m["text"]) for m in said if m["from"] in ("customer", "agent")] == [
        ("customer", "oi"),
        ("customer", "1"),
        ("agent", "Olá, sou a Ana."),
        ("customer", "preciso da segunda via"),
        ("agent", "Segunda via enviada."),
        ("customer", "obrigado"),
        ("customer", "2"),
    ]
    card = next(m["seq"] for m in said if m["kind"] == "card")  # while waiting, before the pickup
    assert card < next(m["seq"] for m in said if m["text"].startswith("Você está sendo atendido"))
    assert [e["type"] for e in delivered(receiver)] == [
        "conversation.queued",
        "conversation.picked_up",
        "conversation.message",
        "conversation.message",
        "conversation.message",
        "conversation.message",
        "conversation.finished",
    ]
    assert len(histories) == 3  # continued as new twice while the webhook was down
    for history in histories[1:]:
        assert (
            history.events[-1].event_type
            == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
    for history in histories:  # no busy loop, no deadlock: at most one task failed per run, an
        events = list(history.events)  # Update that came in as the run closed, taken right after
        failed = [
            i for i, e in enumerate(events) if e.HasField("workflow_task_failed_event_attributes")
        ]
        assert len(failed) <= 1, failed
        for i in failed:
            cause = events[i].workflow_task_failed_event_attributes.cause
            assert cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
            after = [e.event_type for e in events[i + 1 : i + 6]]
            assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED in after, after


async def test_a_leave_carried_into_the_next_run_ends_the_conversation(time_env, settings, engine):
    """A run that continued as new before it could act on a leave (the way before the patch
    `continue-when-idle`: it waited for its deliveries and served nothing) carries it: the next
    run ends the conversation at once."""
    settings.max_messages_per_run = 2
    async with running_stack(time_env, settings, engine, LOJA) as http:
        for n, text in enumerate(["oi", "2", "2"]):  # the menu, twice: the third is a new run
            body = {"contact_id": "herda", "message_id": f"h{n}", "text": text}
            assert (await http.post("/api/bots/loja/messages", json=body)).status_code == 200
        handle = conversation_handle(time_env, conversation_wid("loja", "herda"))
        previous = await started_input(time_env, await handle.fetch_history())  # the 2nd run's
        carried = previous.carried
        assert carried is not None
        next_run = previous.model_copy(
            update={
                "conversation_id": uuid.uuid4().hex,
                "carried": carried.model_copy(update={"left": True}),
            }
        )
        started = await pydantic_client(time_env).start_workflow(
            ConversationWorkflow.run,
            next_run,
            id=f"conversation:loja:{uuid.uuid4().hex}",
            task_queue=settings.task_queue,
        )

        async def ended() -> list[Message] | None:
            said = await started.query(ConversationWorkflow.transcript, 0)
            return said if said[-1].text == "O cliente saiu da conversa." else None

        said = await eventually(ended, "the leave honoured by the next run")
        assert (await started.result()).status == "ended"  # no timer: it ends by itself
    assert [m.text for m in said if m.sender == "customer"] == ["oi", "2"]  # carried along
