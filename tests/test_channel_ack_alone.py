"""A WhatsApp or Telegram customer's message is acknowledged soon after it is taken, whether or
not a reply follows: a turn that puts nothing for the channel in the outbox (the voicemail
time, the queue, an agent yet to answer) has its acknowledgement sent on its own, by the
`channel_ack` activity (patch `channel-ack-alone`); a turn with a reply still acknowledges with
it, once. Doc-shaped webhooks posted to the running API, the platforms stood in on loopback
(tests/channel_standin.py, each request checked as the platform checks it), on the
time-skipping test server. The recorded history of that path
(`tests/histories/channel_ack_alone.json`) replays only along it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.workflow import NondeterminismError

from store.tables import conversations
from tests import channel_payloads as p
from tests.channel_standin import WA_VERSION, Standin, standin
from tests.conftest import conversation_handle, running_stack
from tests.live import eventually, skip_through
from tests.test_channel_backlog import WA_DOWN, waiting_for
from tests.test_channel_give_up import failure_notices
from tests.test_channel_give_up import flow as give_up_flow
from tests.test_channel_stale_input import connect_telegram, connect_whatsapp
from tests.test_channel_telegram import BOT_TOKEN, CHAT
from tests.test_channel_whatsapp import ACCESS_TOKEN, post_whatsapp, texts, wait_for
from tests.test_handoff import Omni, flow, publish, setup_omni
from tests.test_replay import load, replayer
from workflows import patches
from workflows.conversation import ConversationWorkflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import ChannelRef, ConversationInput, ConversationSnapshot

pytestmark = pytest.mark.asyncio

HISTORY = Path(__file__).parent / "histories" / "channel_ack_alone.json"

VOICEMAIL_PROMPT = "No momento não há especialistas disponíveis."
VOICEMAIL_DONE = "Recebemos sua mensagem. Obrigado!"
TRANSFER = "Vou te transferir para um especialista."
WAIT_NOTICE = "Tempo estimado de espera"
RECEIPT_WAIT = 30.0
"""Seconds the stand-in waits for a request the worker sends at once (time does not skip)."""


def receipts(phone: Standin) -> list[str]:
    """The wamids WhatsApp was asked to mark read, in order (accepted requests only)."""
    return [
        s.body["message_id"]
        for s in phone.requests
        if s.status == 200 and s.body.get("status") == "read"
    ]


def position(phone: Standin, predicate: Any) -> int:
    """Where the first request matching `predicate` (its body) is among what the platform got."""
    return next(n for n, s in enumerate(phone.requests) if s.status == 200 and predicate(s.body))


async def arrives(phone: Standin, predicate: Any) -> None:
    """Until the platform got an accepted request matching `predicate` (its path and body)."""

    def got(state: Standin) -> bool:
        return any(s.status == 200 and predicate(s.path, s.body) for s in state.requests)

    await asyncio.to_thread(phone.wait, got, RECEIPT_WAIT)


async def say(http: httpx.AsyncClient, wamid: str, text: str) -> None:
    taken = await post_whatsapp(http, p.whatsapp([p.wa_text(wamid, text)]))
    assert taken.json() == {"messages": 1, "statuses": 0}, taken.text


async def history_of(time_env, engine: sa.Engine) -> WorkflowHistory:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        [wid] = conn.scalars(sa.select(conversations.c.workflow_id))
    return await conversation_handle(time_env, wid).fetch_history()


def ack_activities(history: WorkflowHistory) -> int:
    scheduled = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    return sum(
        1
        for e in history.events
        if e.event_type == scheduled
        and e.activity_task_scheduled_event_attributes.activity_type.name == "channel_ack"
    )


async def paused(http: httpx.AsyncClient, omni: Omni) -> None:
    for name in ("Ana", "Beto"):
        await http.post("/api/agent/status", json={"status": "paused"}, headers=omni.agent(name))


async def test_a_message_left_in_the_voicemail_is_read_before_the_voicemail_ends(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """Nobody can answer: the customer is told to leave a message and leaves two. Each shows
    read (blue ticks) while the 60 s of "Caixa Postal" still run (time does not skip until the
    test lets it), not only with "Recebemos sua mensagem" at the end; that closing message
    acknowledges nothing again. One `channel_ack` per batch of messages waiting, at most one
    per message; the run replays."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, voicemail_seconds=60)
            await paused(http, omni)
            await publish(http, flow(omni.key))
            await connect_whatsapp(http, phone)
            await say(http, "wamid.v1", "oi")
            assert await wait_for(phone, 2) == ["Olá!", "Como posso ajudar?"]
            await say(http, "wamid.v2", "1")
            shown = await wait_for(phone, 4)
            assert shown[2] == TRANSFER and shown[3].startswith(VOICEMAIL_PROMPT), shown
            assert receipts(phone) == ["wamid.v1", "wamid.v2"]  # each with its reply

            await say(http, "wamid.v3", "Meu pedido 123 não chegou.")
            await arrives(phone, lambda path, body: body.get("message_id") == "wamid.v3")
            await say(http, "wamid.v4", "Me liguem, por favor.")
            await arrives(phone, lambda path, body: body.get("message_id") == "wamid.v4")
            assert texts(phone) == shown  # the window still runs: nothing else went out

            with engine.connect() as conn:
                [wid] = conn.scalars(sa.select(conversations.c.workflow_id))
            async with time_env.time_skipping_unlocked():  # the 60 s of "Caixa Postal" pass
                assert (await conversation_handle(time_env, wid).result()).status == "ended"
            assert await wait_for(phone, 6) == [*shown, VOICEMAIL_DONE, "Até logo!"]
            done = position(phone, lambda body: body.get("text", {}).get("body") == VOICEMAIL_DONE)
            read = position(phone, lambda body: body.get("message_id") == "wamid.v4")
            assert read < done
            assert receipts(phone) == ["wamid.v1", "wamid.v2", "wamid.v3", "wamid.v4"]
            assert phone.violations == []
            history = await history_of(time_env, engine)
            assert ack_activities(history) == 2  # one per batch: each came alone here
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


async def test_a_turn_with_a_reply_is_acknowledged_once_by_the_reply(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """The bot's turns are acknowledged with their replies, once each, and schedule no
    `channel_ack`; a message while waiting in the queue is read before any agent answers; the
    agent's answer later acknowledges nothing again."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http)
            await publish(http, flow(omni.key))
            await connect_whatsapp(http, phone)
            await say(http, "wamid.n1", "oi")
            assert await wait_for(phone, 2) == ["Olá!", "Como posso ajudar?"]
            assert receipts(phone) == ["wamid.n1"]  # two entries, one receipt
            first = position(phone, lambda body: body.get("type") is not None)
            assert position(phone, lambda body: body.get("message_id") == "wamid.n1") < first
            await say(http, "wamid.n2", "1")
            shown = await wait_for(phone, 4)  # the transfer, then the estimated wait
            assert shown[2] == TRANSFER and shown[3].startswith(WAIT_NOTICE), shown
            history = await history_of(time_env, engine)
            assert ack_activities(history) == 0  # every reply carried its receipt
            assert "channel-ack-alone" not in str(history.events)  # nor was the patch asked

            await say(http, "wamid.n3", "Alguém aí?")  # in the queue: no reply
            await arrives(phone, lambda path, body: body.get("message_id") == "wamid.n3")
            with engine.connect() as conn:
                [conversation] = conn.scalars(sa.select(conversations.c.id))
            picked = await http.post(
                f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
            )
            assert picked.status_code == 200, picked.text
            sent = await http.post(
                f"/api/agent/conversations/{conversation}/messages",
                json={"text": "Olá, sou a Ana.", "message_id": "ana-1"},
                headers=omni.agent("Ana"),
            )
            assert sent.status_code == 200, sent.text
            await asyncio.to_thread(phone.wait, lambda s: "Olá, sou a Ana." in texts(s))
            assert receipts(phone) == ["wamid.n1", "wamid.n2", "wamid.n3"]  # once each
            assert phone.violations == []
            assert ack_activities(await history_of(time_env, engine)) == 1


async def test_telegram_answers_a_press_in_the_queue_and_sends_no_typing_alone(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """Telegram shows a bot's received messages read by itself: a text in the queue sends
    nothing alone (no "typing…" with nothing to follow it, no activity). A press of the old
    menu's button there gets its callback answered at once (its spinner stops), not when an
    agent answers."""
    with standin(BOT_TOKEN) as telegram:
        settings = settings.model_copy(update={"telegram_api_base": telegram.url})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http)
            await publish(http, flow(omni.key))
            secret = await connect_telegram(http)

            async def post(update: dict[str, Any]) -> None:
                taken = await http.post("/api/channels/telegram/loja", json=update, headers=secret)
                assert taken.status_code == 200, taken.text

            await post(p.telegram_text(1, 11, CHAT, "oi"))
            await asyncio.to_thread(telegram.wait, lambda s: len(s.sends()) >= 2)
            menu = telegram.sends()[-1]
            keyboard = menu["reply_markup"]["inline_keyboard"]
            await post(
                p.telegram_callback(2, CHAT, "q-humano", keyboard[0][0]["callback_data"], keyboard)
            )
            await asyncio.to_thread(
                telegram.wait, lambda s: WAIT_NOTICE in "".join(b["text"] for b in s.sends())
            )  # the transfer's turn, and the estimated wait told after it, are out
            typing = sum(1 for s in telegram.requests if s.path.endswith("/sendChatAction"))

            await post(p.telegram_text(3, 12, CHAT, "Alguém aí?"))  # in the queue
            data = keyboard[1][0]["callback_data"]
            await post(p.telegram_callback(4, CHAT, "q-velho", data, keyboard))
            await arrives(telegram, lambda path, body: body.get("callback_query_id") == "q-velho")
            answered = [
                s.body["callback_query_id"]
                for s in telegram.requests
                if s.path.endswith("/answerCallbackQuery")
            ]
            assert answered == ["q-humano", "q-velho"]
            assert sum(1 for s in telegram.requests if s.path.endswith("/sendChatAction")) == typing
            assert telegram.violations == []
            assert ack_activities(await history_of(time_env, engine)) == 1


PICKED_UP = "Você está sendo atendido por Ana."


def seen(phone: Standin) -> list[tuple[str, int]]:
    """What WhatsApp was asked, in order: a receipt by its wamid, a text by its body (an
    interactive by its type), with the status it answered."""
    return [
        (
            s.body.get("message_id") or (s.body.get("text") or {}).get("body") or s.body["type"],
            s.status,
        )
        for s in phone.requests
    ]


def reads(phone: Standin) -> list[tuple[str, int]]:
    """Every read receipt WhatsApp was asked for, in order, with the status it answered."""
    return [(s.body["message_id"], s.status) for s in phone.requests if s.body.get("status")]


async def in_the_queue(http: httpx.AsyncClient, phone: Standin, engine: sa.Engine) -> str:
    """The customer says "oi", then picks the specialist: waiting in the queue, each turn
    acknowledged by its reply. The conversation's id."""
    await say(http, "wamid.n1", "oi")
    assert await wait_for(phone, 2) == ["Olá!", "Como posso ajudar?"]
    await say(http, "wamid.n2", "1")
    shown = await wait_for(phone, 4)
    assert shown[2] == TRANSFER and shown[3].startswith(WAIT_NOTICE), shown
    with engine.connect() as conn:
        [conversation] = conn.scalars(sa.select(conversations.c.id))
    return str(conversation)


async def answers(http: httpx.AsyncClient, omni: Omni, conversation: str, text: str) -> None:
    """Ana picks the conversation up and writes `text` (accepted: the pump sends it)."""
    picked = await http.post(
        f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
    )
    assert picked.status_code == 200, picked.text
    sent = await http.post(
        f"/api/agent/conversations/{conversation}/messages",
        json={"text": text, "message_id": "ana-1"},
        headers=omni.agent("Ana"),
    )
    assert sent.status_code == 200, sent.text


def ack_attempts(history: WorkflowHistory) -> list[int]:
    """The attempt each `channel_ack` ended on (its started event holds the last one)."""
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "channel_ack"
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]


async def test_a_failing_receipt_does_not_hold_the_agents_reply(time_env, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """WhatsApp answers 503 to every read receipt: the receipt of a message in the queue is
    tried once on its own (one attempt, as the one that goes with a send), and the agent's
    answer goes out next, carrying that receipt again (it was not taken). Three minutes
    skipped after the answer change nothing: no retry of the receipt held it (before: retried
    for 2 minutes, the answer behind it, and then counted as sent)."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http)
            await publish(http, flow(omni.key))
            await connect_whatsapp(http, phone)
            conversation = await in_the_queue(http, phone, engine)
            phone.ack_script = [WA_DOWN] * 1000  # every receipt from now on: 503

            await say(http, "wamid.n3", "Alguém aí?")
            await asyncio.to_thread(
                phone.wait, lambda s: ("wamid.n3", 503) in reads(s), RECEIPT_WAIT
            )
            await answers(http, omni, conversation, "Olá, sou a Ana.")
            await skip_through(time_env, timedelta(minutes=3))
            await asyncio.to_thread(phone.wait, lambda s: "Olá, sou a Ana." in texts(s))
            after = seen(phone)[seen(phone).index(("wamid.n3", 503)) :]
            assert after == [
                ("wamid.n3", 503),  # on its own, once
                ("wamid.n3", 503),  # again with the next entry, which does not wait for it
                (PICKED_UP, 200),
                ("Olá, sou a Ana.", 200),
            ]
            assert reads(phone) == [
                ("wamid.n1", 200),
                ("wamid.n2", 200),
                ("wamid.n3", 503),
                ("wamid.n3", 503),
            ]
            assert phone.violations == []
            history = await history_of(time_env, engine)
            assert ack_attempts(history) == [1]
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


async def test_messages_during_an_acknowledgement_in_flight(time_env, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """The receipt of a message in the queue is on its way (WhatsApp holds it) when the
    customer writes again and the agent answers. WhatsApp then answers the receipt 503: it is
    not tried again on its own; the agent's answer goes out next with the newest message's
    receipt (which marks both read), and no second `channel_ack` is scheduled."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http)
            await publish(http, flow(omni.key))
            await connect_whatsapp(http, phone)
            conversation = await in_the_queue(http, phone, engine)
            phone.hold_acks()
            await say(http, "wamid.n3", "Alguém aí?")
            await asyncio.to_thread(
                phone.wait, lambda s: [b["message_id"] for b in s.held] == ["wamid.n3"]
            )
            await say(http, "wamid.n4", "Meu pedido 123 não chegou.")
            await answers(http, omni, conversation, "Olá, sou a Ana.")
            phone.ack_script = [WA_DOWN]  # the held receipt only
            phone.release_acks()
            await asyncio.to_thread(phone.wait, lambda s: "Olá, sou a Ana." in texts(s))
            assert reads(phone) == [
                ("wamid.n1", 200),
                ("wamid.n2", 200),
                ("wamid.n3", 503),
                ("wamid.n4", 200),
            ]
            reply = position(
                phone, lambda body: body.get("text", {}).get("body") == "Olá, sou a Ana."
            )
            assert position(phone, lambda body: body.get("message_id") == "wamid.n4") < reply
            assert phone.violations == []
            history = await history_of(time_env, engine)
            assert ack_activities(history) == 1
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


async def test_no_acknowledgement_alone_after_a_send_gave_up(time_env, settings, engine) -> None:  # type: ignore[no-untyped-def]
    """WhatsApp refuses every send and every receipt for an hour while the customer asks for
    the news and then for a specialist: the news' send gives up, the entries behind it are
    told. The customer's last message is not acknowledged on its own then (no `channel_ack` to
    a platform just found down, before: retried for 2 minutes and then counted as read): its
    receipt goes with the agent's answer once WhatsApp is back."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, abandon_seconds=7200)
            await publish(http, give_up_flow(omni.key))
            await connect_whatsapp(http, phone)
            await say(http, "wamid.g0", "oi")
            assert await wait_for(phone, 2) == ["Olá!", "Como posso ajudar?"]
            phone.script = [WA_DOWN] * 1000
            phone.ack_script = [WA_DOWN] * 1000
            await say(http, "wamid.g1", "1")
            await say(http, "wamid.g2", "2")
            conversation = await waiting_for(http, omni)
            await skip_through(time_env, timedelta(minutes=61))
            await failure_notices(http, conversation, omni, 2)
            assert ack_activities(await history_of(time_env, engine)) == 0

            phone.script.clear()
            phone.ack_script.clear()
            await answers(http, omni, conversation, "Olá, sou a Ana.")
            await asyncio.to_thread(phone.wait, lambda s: "Olá, sou a Ana." in texts(s))
            reply = position(
                phone, lambda body: body.get("text", {}).get("body") == "Olá, sou a Ana."
            )
            taken = [(m, status) for m, status in reads(phone) if status == 200]
            assert taken == [("wamid.g0", 200), ("wamid.g2", 200)]
            assert position(phone, lambda body: body.get("message_id") == "wamid.g2") < reply
            assert phone.violations == []
            history = await history_of(time_env, engine)
            assert ack_activities(history) == 0
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


@workflow.defn(name="ConversationWorkflow")
class WithTheNextEntry(ConversationWorkflow):
    """Asks the patch `channel-ack-alone` when an acknowledgement alone is due (its marker
    matched) but leaves it for the next entry, as before it."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    async def _ack_alone(self, channel: ChannelRef) -> None:
        patches.patched(patches.CHANNEL_ACK_ALONE)
        self._acks_checked = self._unacked()[-1].seq


async def test_the_ack_alone_history_replays_only_along_its_new_path() -> None:
    """`channel_ack_alone.json` (tests/record_histories.py: in the queue, one receipt taken on
    its own, one refused with 503) replays with the current code (tests/test_replay.py replays
    every history), and code that asks the patch but leaves the receipt for the next entry
    fails to replay it: the history guards the new path, not only the marker."""
    assert HISTORY.exists()
    current = await replayer(ConversationWorkflow, strict=True).replay_workflow(
        load(HISTORY), raise_on_replay_failure=False
    )
    assert current.replay_failure is None
    old = await replayer(WithTheNextEntry).replay_workflow(
        load(HISTORY), raise_on_replay_failure=False
    )
    assert isinstance(old.replay_failure, NondeterminismError), old.replay_failure


def straight_to_the_queue(key: str) -> str:
    """A flow whose first turn hands the customer over (its one reply: the transfer)."""
    return f"""
bot: loja
human_service: {{platform: omni_v2, omni_key: "{key}"}}
start: humano
blocks:
  humano:
    type: human
    service: Suporte
    text: {TRANSFER}
    check_hours: false
"""


async def test_a_reply_given_up_leaves_its_receipt_to_the_next_entry(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """WhatsApp down for an hour from the customer's first and only message: its reply (the
    transfer) gives up, and nothing is acknowledged on its own then. WhatsApp back, the
    agent's answer carries that message's receipt first (before: counted as acknowledged by
    the reply that never went, so the message was never marked read)."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}"})
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http, abandon_seconds=7200)
            await publish(http, straight_to_the_queue(omni.key))
            await connect_whatsapp(http, phone)
            phone.script = [WA_DOWN] * 1000
            phone.ack_script = [WA_DOWN] * 1000
            await say(http, "wamid.o1", "oi")
            conversation = await waiting_for(http, omni)
            await skip_through(time_env, timedelta(minutes=61))
            await failure_notices(http, conversation, omni, 1)
            assert ack_activities(await history_of(time_env, engine)) == 0

            phone.script.clear()
            phone.ack_script.clear()
            await answers(http, omni, conversation, "Olá, sou a Ana.")
            await asyncio.to_thread(phone.wait, lambda s: "Olá, sou a Ana." in texts(s))
            assert TRANSFER not in texts(phone)
            assert [(m, status) for m, status in reads(phone) if status == 200] == [
                ("wamid.o1", 200)
            ]
            picked = position(phone, lambda body: body.get("text", {}).get("body") == PICKED_UP)
            assert position(phone, lambda body: body.get("message_id") == "wamid.o1") < picked
            assert phone.violations == []
            history = await history_of(time_env, engine)
            assert ack_activities(history) == 0
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)


async def continued(time_env, engine: sa.Engine) -> WorkflowHistory:  # type: ignore[no-untyped-def]
    """The history of the conversation's run once it is one continued as new."""

    async def second() -> WorkflowHistory | None:
        history = await history_of(time_env, engine)
        started = history.events[0].workflow_execution_started_event_attributes
        return history if started.continued_execution_run_id else None

    return await eventually(second, "the run continued as new")


async def test_a_receipt_not_taken_is_not_tried_alone_by_the_next_run(
    time_env, settings, engine
) -> None:  # type: ignore[no-untyped-def]
    """Three customer messages per run: the third, in the queue, has its receipt refused (503,
    its one attempt), and the run continues as new carrying it. The next run does not try it
    on its own again (what was not taken waits for the next entry); a message in that run is
    acknowledged on its own as usual, and its receipt marks both read."""
    with standin(ACCESS_TOKEN) as phone:
        settings = settings.model_copy(
            update={"whatsapp_api_base": f"{phone.url}/{WA_VERSION}", "max_messages_per_run": 3}
        )
        async with running_stack(time_env, settings, engine) as http:
            omni = await setup_omni(http)
            await publish(http, flow(omni.key))
            await connect_whatsapp(http, phone)
            await in_the_queue(http, phone, engine)
            phone.ack_script = [WA_DOWN]  # the next receipt only
            await say(http, "wamid.n3", "Alguém aí?")
            await asyncio.to_thread(
                phone.wait, lambda s: ("wamid.n3", 503) in reads(s), RECEIPT_WAIT
            )
            await continued(time_env, engine)

            await say(http, "wamid.n4", "Meu pedido 123 não chegou.")
            await asyncio.to_thread(
                phone.wait, lambda s: ("wamid.n4", 200) in reads(s), RECEIPT_WAIT
            )
            assert reads(phone) == [
                ("wamid.n1", 200),
                ("wamid.n2", 200),
                ("wamid.n3", 503),
                ("wamid.n4", 200),
            ]
            assert phone.violations == []
            history = await continued(time_env, engine)
            assert ack_activities(history) == 1  # n4's only
            await replayer(ConversationWorkflow, strict=True).replay_workflow(history)
