"""Messages written ahead (api/usecases/log_ahead.py, workflows/message_log.py): the API writes
each customer turn, agent message and pickup to the SQL log, the row's status included, before
it answers, so a message costs its Update and no recording of its own in Temporal (no timer,
workflow task or activity per message, whatever the conversation's length); the workflow
records the rest, and everything once more before the run closes (the backstop: a local
activity from code version 4 on)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from temporalio.api.enums.v1 import EventType

from api.usecases import delivery
from store import conversations as conversation_log
from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.live import DEADLINE_SECONDS, eventually, json_server
from tests.test_conversation import http_flow
from tests.test_handoff import flow, into_queue, publish, say, setup_omni
from tests.test_kept_timer import ECO
from workflows.contracts import CustomerMessage, LogStatus, Message, PickupRequest, RecordBatch
from workflows.conversation import ConversationWorkflow
from workflows.written_ahead import AHEAD_BATCH, WrittenAhead


async def history_of(env, workflow_id: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    handle = conversation_handle(env, workflow_id)
    return [event async for event in handle.fetch_history_events()]


def recordings(events: list) -> int:  # type: ignore[type-arg]
    """The workflow's own writes to the log: record activities and local ones (markers)."""
    kinds = [event.event_type for event in events]
    return kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) + kinds.count(
        EventType.EVENT_TYPE_MARKER_RECORDED
    )


def record_activities(events: list) -> int:  # type: ignore[type-arg]
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ].count("record_messages")


def local_records(events: list) -> int:  # type: ignore[type-arg]
    """Local activities that recorded the log (their markers name the activity)."""
    return sum(
        b"record_messages" in event.SerializeToString()
        for event in events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    )


def timers(events: list) -> int:  # type: ignore[type-arg]
    return [event.event_type for event in events].count(EventType.EVENT_TYPE_TIMER_STARTED)


async def eco_turns(http, contact: str, turns: int) -> str:  # type: ignore[no-untyped-def]
    """`turns` messages of `contact` to the ECO bot ("oi", then "1"), each answered at once;
    the conversation's id."""
    for n in range(turns):
        body = {"contact_id": contact, "message_id": f"m{n}", "text": "1" if n else "oi"}
        answer = await http.post("/api/bots/eco/messages", json=body)
        assert answer.status_code == 200, answer.text
    return str(answer.json()["conversation_id"])


@pytest.mark.asyncio
@pytest.mark.parametrize("turns", [2, 8])
async def test_bot_turns_cost_no_recording_of_their_own(time_env, settings, engine, turns):
    contact = f"ahead-{turns}"
    async with running_stack(time_env, settings, engine, ECO) as http:
        for n in range(turns):
            body = {"contact_id": contact, "message_id": f"m{n}", "text": "1" if n else "oi"}
            answer = await http.post("/api/bots/eco/messages", json=body)
            assert answer.status_code == 200, answer.text
            conversation = answer.json()["conversation_id"]
            # read-your-writes, the row's block included, before any record of the workflow
            log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
            assert len(log) == 2 * (n + 1)
            row = (await http.get(f"/api/conversations/{conversation}")).json()
            assert (row["status"], row["block"]) == ("bot", "menu")
        await time_env.sleep(timedelta(minutes=5))  # any recording delay would have fired
        events = await history_of(time_env, conversation_wid("eco", contact))
    assert recordings(events) == 0
    assert timers(events) == 1  # the conversation's idle timer, kept across turns


@pytest.mark.asyncio
async def test_a_run_started_at_version_2_takes_ahead_mode_with_one_marker(
    time_env, settings, engine, monkeypatch
):
    """Conversations running when this was deployed (code version 2) ask the patch at their
    first written-ahead message: one marker, then no recording per message either."""
    monkeypatch.setattr(delivery, "CODE_VERSION", 2)
    async with running_stack(time_env, settings, engine, ECO) as http:
        conversation = await eco_turns(http, "v2", 4)
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        await time_env.sleep(timedelta(minutes=5))
        events = await history_of(time_env, conversation_wid("eco", "v2"))
    assert len(log) == 8
    patches = [e for e in events if e.marker_recorded_event_attributes.marker_name == "core_patch"]
    assert len(patches) == 1 and b"log-ahead" in patches[0].SerializeToString()
    assert record_activities(events) == 0 and timers(events) == 1


@pytest.mark.asyncio
async def test_the_agents_pickup_messages_and_finish_are_in_the_log_at_their_200(
    time_env, settings, engine
):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "5521"))["conversation_id"]
        wid = conversation_wid("loja", "5521")
        queued = await history_of(time_env, wid)

        picked = await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        assert picked.status_code == 200, picked.text
        row = conversation_log.get_conversation(engine, conversation)
        assert row is not None and (row.status, row.agent) == ("in_service", "Ana")
        for n in range(3):
            sent = await http.post(
                f"/api/agent/conversations/{conversation}/messages",
                json={"text": f"Mensagem {n} da Ana", "message_id": f"ana-{n}"},
                headers=omni.agent("Ana"),
            )
            assert sent.status_code == 200, sent.text
            log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
            assert log[-1]["text"] == f"Mensagem {n} da Ana"  # the customer sees it at once
            await say(http, "5521", f"5521-c{n}", f"resposta {n}")
        await time_env.sleep(timedelta(minutes=5))
        in_service = await history_of(time_env, wid)
        assert record_activities(in_service) == record_activities(queued) == 0
        assert timers(in_service) == timers(queued)

        finished = await http.post(
            f"/api/agent/conversations/{conversation}/finish",
            json={"return_to_bot": True},
            headers=omni.agent("Ana"),
        )
        assert finished.status_code == 200, finished.text
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        assert [m["text"] for m in log][-3:-1] == [
            "Atendimento humano encerrado.",
            "Ana te atendeu. Algo mais?",
        ]
        row = conversation_log.get_conversation(engine, conversation)
        assert row is not None and (row.status, row.block, row.agent) == ("bot", "menu", None)
        await say(http, "5521", "5521-end", "2")
        handle = conversation_handle(time_env, wid)
        async with time_env.time_skipping_unlocked():
            await handle.result()
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        events = await history_of(time_env, wid)
    assert [m["seq"] for m in log] == list(range(1, len(log) + 1))
    assert log[-1]["text"] == "Até logo!"
    # the backstop, before the run closed: a local activity, in the last answer's workflow task
    assert record_activities(events) == 0 and local_records(events) == 1
    row = conversation_log.get_conversation(engine, conversation)
    assert row is not None and row.status == "ended"


@pytest.mark.asyncio
async def test_a_turn_whose_write_never_came_is_recorded_before_the_run_closes(
    time_env, settings, engine
):
    """An API process that died between a message's Update and its write (the Update sent
    here without the API): the turn is not in the log until the run's backstop records it."""
    async with running_stack(time_env, settings, engine, ECO) as http:
        first = await http.post(
            "/api/bots/eco/messages", json={"contact_id": "k9", "message_id": "m0", "text": "oi"}
        )
        conversation = first.json()["conversation_id"]
        handle = conversation_handle(time_env, conversation_wid("eco", "k9"))
        lost = CustomerMessage(message_id="lost", text="1", log_ahead=True)
        await handle.execute_update(ConversationWorkflow.message, lost, id="lost")
        await time_env.sleep(timedelta(minutes=5))
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
        assert [m["seq"] for m in log] == [1, 2]

        async with time_env.time_skipping_unlocked():  # the idle end closes the run
            await handle.result()
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
    assert [m["seq"] for m in log] == list(range(1, len(log) + 1))
    menu = "Escolha uma opção\n1. De novo"
    assert [m["text"] for m in log][:4] == ["oi", menu, "1", menu]


@pytest.mark.asyncio
async def test_a_run_started_at_version_3_asks_for_the_local_backstop_with_one_marker(
    time_env, settings, engine, monkeypatch
):
    """Conversations running when version 4 was deployed ask the patch when their backstop
    comes (here the idle end): one marker, and the backstop is a local activity too."""
    monkeypatch.setattr(delivery, "CODE_VERSION", 3)
    async with running_stack(time_env, settings, engine, ECO) as http:
        conversation = await eco_turns(http, "v3", 3)
        handle = conversation_handle(time_env, conversation_wid("eco", "v3"))
        async with time_env.time_skipping_unlocked():  # the idle end closes the run
            await handle.result()
        events = await history_of(time_env, handle.id)
        row = conversation_log.get_conversation(engine, conversation)
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
    patches = [e for e in events if e.marker_recorded_event_attributes.marker_name == "core_patch"]
    assert len(patches) == 1 and b"backstop-local" in patches[0].SerializeToString()
    assert record_activities(events) == 0 and local_records(events) == 1
    assert row is not None and row.status == "ended"
    assert [m["seq"] for m in log] == list(range(1, len(log) + 1)) and len(log) >= 6


@pytest.mark.asyncio
async def test_a_backstop_the_database_holds_up_is_handed_to_an_activity(
    time_env, settings, engine
):
    """The SQL database locked by someone else when the run ends (the customer left): the
    local backstop gives up after its budget, a regular activity records once the lock is
    gone, and the run closes with its whole transcript and status in the log. (Time is not
    skipped while the lock is held: the budget runs on the worker's own clock.)"""
    async with running_stack(time_env, settings, engine, ECO) as http:
        conversation = await eco_turns(http, "lk", 2)
        handle = conversation_handle(time_env, conversation_wid("eco", "lk"))
        locker = sqlite3.connect(engine.url.database, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # the write lock, as another process's writer
        try:
            await handle.signal(ConversationWorkflow.leave)

            async def handed_over() -> bool | None:
                return record_activities(await history_of(time_env, handle.id)) or None

            await eventually(handed_over, "the backstop handed to a regular activity")
        finally:  # the activity, waiting on the lock, records before the worker stops
            locker.rollback()
            locker.close()
        async with time_env.time_skipping_unlocked():
            assert (await handle.result()).status == "ended"
        events = await history_of(time_env, handle.id)
        row = conversation_log.get_conversation(engine, conversation)
        log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
    assert record_activities(events) == 1 and local_records(events) == 1  # the failed one
    assert row is not None and row.status == "ended"
    assert [m["seq"] for m in log] == list(range(1, len(log) + 1))
    assert log[-1]["text"] == "O cliente saiu da conversa."


@pytest.mark.asyncio
async def test_a_pickup_asked_again_records_what_its_first_answer_did_not_write(
    time_env, settings, engine
):
    """The API process that sent a pickup died before its write (the Update sent here without
    the API); the agent's screen asks again: the notice and the row come from the workflow."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, "5531"))["conversation_id"]
        handle = conversation_handle(time_env, conversation_wid("loja", "5531"))
        ana = omni.agents["Ana"]
        first = PickupRequest(agent_id=ana["id"], agent_name="Ana", log_ahead=True)
        await handle.execute_update(ConversationWorkflow.pickup, first)
        notice = "Você está sendo atendido por Ana."

        async def logged() -> list[str]:
            log = (await http.get(f"/api/conversations/{conversation}/messages")).json()
            return [m["text"] for m in log]

        await time_env.sleep(timedelta(minutes=5))
        assert notice not in await logged()
        again = await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        assert again.status_code == 200, again.text

        async def recorded() -> list[str] | None:
            texts = await logged()
            return texts if notice in texts else None

        await eventually(recorded, "the pickup's notice, recorded by the workflow")
        row = conversation_log.get_conversation(engine, conversation)
    assert row is not None and (row.status, row.agent) == ("in_service", "Ana")


def test_the_row_keeps_the_newest_status_whichever_write_comes_last(any_engine):
    """The API's write of a turn and the workflow's record of an older state race: each
    writes the status only if the log holds nothing newer (by seq)."""
    engine, cid = any_engine, f"c-{uuid.uuid4().hex[:8]}"
    conversation_log.ensure_conversation(
        engine,
        conversation_id=cid,
        workflow_id="w1",
        bot="b",
        bot_version=1,
        contact_id="x",
        status="bot",
    )
    at = datetime.now(UTC)

    def entry(seq: int) -> Message:
        return Message(seq=seq, sender="customer", text=f"m{seq}", message_id=f"m{seq}", at=at)

    def record(through: int, status: str, agent: str | None) -> None:
        conversation_log.record_batch(
            engine,
            RecordBatch(
                conversation_id=cid,
                workflow_id="w1",
                bot="b",
                bot_version=1,
                contact_id="x",
                status=status,  # type: ignore[arg-type]
                block=None,
                service="Suporte",
                agent=agent,
                messages=[entry(s) for s in range(1, through + 1)],
                through=through,
            ),
        )

    def row() -> tuple[str, str | None, int]:
        found = conversation_log.get_conversation(engine, cid)
        assert found is not None
        return found.status, found.agent, found.last_seq

    picked = LogStatus(status="in_service", service="Suporte", agent="Ana")
    conversation_log.record_turn(engine, cid, [entry(4)], picked)
    record(3, "waiting", None)  # taken before the pickup, written after it
    assert row() == ("in_service", "Ana", 4)
    record(4, "bot", None)  # taken after it (a finish without a message of its own)
    assert row() == ("bot", None, 4)
    conversation_log.record_turn(engine, cid, [entry(4)], picked)  # a late repeat
    assert row() == ("bot", None, 4)
    # a status taken at 4 (a supervisor gives it to Beto), written after an entry without a
    # status (5) raised last_seq: still the newest status there is
    conversation_log.record_turn(engine, cid, [entry(5)])
    record(4, "in_service", "Beto")
    assert row() == ("in_service", "Beto", 5)
    conversation_log.record_turn(engine, cid, [entry(5)], LogStatus(status="bot"))
    assert row() == ("bot", None, 5)
    with engine.connect() as conn:
        seqs = conn.execute(
            sa.text("SELECT seq FROM messages WHERE conversation_id = :c"), {"c": cid}
        )
        assert sorted(s for (s,) in seqs) == [1, 2, 3, 4, 5]


@dataclass
class Seq:
    seq: int


def test_the_pump_records_only_what_no_caller_wrote_and_the_backstop() -> None:
    """workflows/written_ahead.py: when ahead mode makes the pump record."""
    bot = ("bot", "menu", None, None)
    written = WrittenAhead(on=True)
    outbox = [Seq(1), Seq(2)]
    assert written.mark(outbox, outbox, newest=2, status=bot)
    assert not written.due(outbox, bot, ending=False)  # both written by their caller
    assert written.due(outbox, ("waiting", "humano", "Suporte", None), ending=False)
    assert written.due([*outbox, Seq(3)], bot, ending=False)  # a timer's notice: nobody's
    assert not written.mark([Seq(1)], outbox, newest=2, status=bot)  # not the newest: no status
    assert written.due(outbox, bot, ending=True)  # the backstop before the run closes
    many = [Seq(n) for n in range(1, AHEAD_BATCH + 1)]
    written.mark(many, many, newest=AHEAD_BATCH, status=bot)
    assert written.due(many, bot, ending=False)  # the backstop's batch stays small
    written.taking(outbox, bot)
    written.recorded = bot
    assert written.idle([], bot) and not written.due([], bot, ending=True)
    written.forget()  # a caller's write failed
    assert written.due([Seq(4)], bot, ending=False)


@pytest.mark.asyncio
async def test_a_request_cancelled_while_its_update_runs_leaves_the_turn_to_the_workflow(
    time_env, settings, engine
):
    """The customer's request dies while its Update waits on the flow's HTTP block (the
    connector gave up; the API process is stopping): nobody writes the turn ahead, so the API
    tells the workflow (`log_behind`), and the workflow records the turn, the block's answer
    included, once the block returns: the transcript loses nothing."""
    arrived, release = threading.Event(), threading.Event()

    def slow_backend(path: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
        arrived.set()
        release.wait(DEADLINE_SECONDS)
        return {"pedido": json.loads(body or b"{}").get("cpf"), "situacao": "enviado"}

    with json_server(slow_backend) as url:
        async with running_stack(
            time_env, settings, engine, http_flow(url, True, stays_open=True)
        ) as http:
            path = "/api/bots/pedidoslentos/messages"
            first = await http.post(path, json={"contact_id": "c", "message_id": "1", "text": "oi"})
            conversation_id = first.json()["conversation_id"]
            cpf = {"contact_id": "c", "message_id": "2", "text": "123"}
            request = asyncio.create_task(http.post(path, json=cpf))
            assert await asyncio.to_thread(arrived.wait, DEADLINE_SECONDS)  # in the block
            request.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await request
            release.set()

            async def recorded() -> list[str | None] | None:
                rows = conversation_log.messages_after(engine, conversation_id)
                texts = [row.text for row in rows]
                return texts if "Pedido 123: enviado. Algo mais?" in texts else None

            texts = await eventually(recorded, "the workflow's record of the cancelled turn")
            assert texts[-2:] == ["123", "Pedido 123: enviado. Algo mais?"]  # still open
