"""The stream hub on SQLite and PostgreSQL: a log write or a queue change wakes the streams that
watch it (LISTEN/NOTIFY, or the shared poller), and not the others; the API's write of a turn and
the workflow's record of the same seqs leave one row each, whichever comes first, with the same
values (store/prepared.py), and a failed write leaves nothing; a stream sends in seq order,
waits a moment at a gap, and still sends an entry recorded after it gave up (`LogCursor`)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from api import stream_hub, stream_sources
from api.app import create_app
from api.routes import channel
from api.stream_hub import (
    GAP_GRACE_SECONDS,
    LATE_MAX,
    LATE_SECONDS,
    LogCursor,
    Sent,
    StreamGapsCollector,
    StreamHub,
    Watch,
    hub_for,
    in_order,
)
from omni.models import ServiceCreate
from store import conversations as conversation_log
from store import queue
from store.conversations import MessageRow
from store.services import create_service
from store.tables import conversations
from tests.conftest import admin_headers, pydantic_client
from tests.live import eventually, serving, sse_events
from tests.log_rows import batch, opened
from transbordo.settings import Settings
from transbordo.stack import stack_ring
from workflows.contracts import Message

DEADLINE_SECONDS = 20
AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def message(seq: int, sender: str = "bot", message_id: str | None = None) -> Message:
    return Message(seq=seq, sender=sender, text=f"m{seq}", message_id=message_id, at=AT)  # type: ignore[arg-type]


@asynccontextmanager
async def started(engine: sa.Engine) -> AsyncIterator[StreamHub]:
    hub = hub_for(engine)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def woken_for(watch: Watch, conversation_id: str) -> None:
    """Until the hub says `conversation_id`'s log changed (the hub's start-up wakes every
    stream once, which is not this)."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        while True:
            await watch.wait()
            _, changed = watch.take()
            if conversation_id in changed:
                return


async def queue_woken(watch: Watch) -> None:
    async with asyncio.timeout(DEADLINE_SECONDS):
        while True:
            await watch.wait()
            if watch.take()[0]:
                return


async def settled(hub: StreamHub, *watches: Watch) -> None:
    """Once the feed listens (polls), forget its start-up wake-up: a change is then the next."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        await hub.feeding.wait()
    for watch in watches:
        watch.take()


async def test_a_log_write_wakes_the_streams_of_that_conversation(any_engine: sa.Engine) -> None:
    conversation_log.record_batch(any_engine, batch("c1", "bot", message(1, "customer", "m1")))
    async with started(any_engine) as hub:
        with hub.watch() as mine, hub.watch() as other:
            assert hub.open_streams == 2
            mine.conversations(["c1"])
            other.conversations(["c2"])
            await settled(hub, mine, other)
            conversation_log.record_turn(any_engine, "c1", [message(2), message(3)])
            await woken_for(mine, "c1")
            assert "c1" not in other.take()[1]

            # a record with no message that ends the conversation wakes it too
            conversation_log.record_batch(any_engine, batch("c1", "ended"))
            await woken_for(mine, "c1")
        assert hub.open_streams == 0


async def test_a_queue_change_wakes_the_agent_streams(any_engine: sa.Engine) -> None:
    service = create_service(any_engine, ServiceCreate(name="Vendas"), stack_ring())
    async with started(any_engine) as hub:
        with hub.watch() as agent_stream:
            agent_stream.queue()
            await settled(hub, agent_stream)
            queue.enqueue(
                any_engine,
                entry_id="e1",
                conversation_id="c1",
                workflow_id="conversation:loja:c1",
                service_id=service.id,
                preview="oi",
            )
            await queue_woken(agent_stream)
            assert queue.close_waiting(any_engine, "e1", "abandoned")
            await queue_woken(agent_stream)


async def test_a_listener_whose_connection_died_listens_again(
    postgres_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the listener asks its server when quiet and, its connection gone, listens
    again and wakes every stream (notices may have been missed meanwhile)."""
    monkeypatch.setattr(stream_sources, "QUIET_SECONDS", 0.2)
    monkeypatch.setattr(stream_sources, "RECONNECT_SECONDS", (0.1, 0.1))
    conversation_log.record_batch(postgres_engine, batch("c1", "bot", message(1, "customer")))
    async with started(postgres_engine) as hub:
        with hub.watch() as mine:
            mine.conversations(["c1"])
            await settled(hub, mine)
            with postgres_engine.begin() as conn:
                killed = conn.scalar(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": stream_sources.APPLICATION_NAME},
                )
            assert killed == 1
            await woken_for(mine, "c1")  # listening again: every stream reads once more
            conversation_log.record_turn(postgres_engine, "c1", [message(2)])
            await woken_for(mine, "c1")


async def test_a_socket_opened_as_the_listeners_connection_dies_keeps_its_reader(
    postgres_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: libpq closes the listener's socket when its server goes, and the OS hands that
    number to the next socket opened; the listener removed its reader from the number once
    more, later: the newcomer's reader (on uvloop a transport's: the feed then died for good)."""
    monkeypatch.setattr(stream_sources, "RECONNECT_SECONDS", (0.1, 0.1))
    loop = asyncio.get_running_loop()
    numbers: list[int] = []
    hear = stream_sources._hear

    async def watched(conn, hub, seconds):  # type: ignore[no-untyped-def]
        numbers.append(conn.pgconn.socket)
        await hear(conn, hub, seconds)

    monkeypatch.setattr(stream_sources, "_hear", watched)
    heard = asyncio.Event()
    pair: list[socket.socket] = []

    async def newcomer(number: int) -> None:  # any part of the app opening a socket then
        while True:
            try:
                os.fstat(number)
            except OSError:
                pair.extend(socket.socketpair())
                loop.add_reader(pair[0].fileno(), heard.set)
                return
            await asyncio.sleep(0)

    async def listening(times: int) -> int | None:
        return numbers[-1] if len(numbers) >= times else None

    async with started(postgres_engine) as hub:
        first = await eventually(lambda: listening(1), "the listener listening")
        taking = asyncio.create_task(newcomer(first))
        with postgres_engine.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": stream_sources.APPLICATION_NAME},
            )
        await taking
        try:
            assert pair[0].fileno() == first  # the very number the listener had
            await eventually(lambda: listening(2), "listening again")  # its `finally` done
            pair[1].send(b"x")
            await asyncio.wait_for(heard.wait(), 10)
        finally:
            loop.remove_reader(pair[0].fileno())
            for end in pair:
                end.close()
        assert hub.feeding.is_set()


async def test_a_supervisors_reassign_wakes_the_agent_streams(any_engine: sa.Engine) -> None:
    """No count changes when a conversation in service goes to another agent: who serves it
    does, and both agents' screens must hear of it."""
    from store.supervision import reassign_agent
    from tests.test_queue_store import enqueue, staffed

    service, (ana, beto) = staffed(any_engine)
    enqueue(any_engine, service, 1)
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    async with started(any_engine) as hub:
        with hub.watch() as agent_stream:
            agent_stream.queue()
            await settled(hub, agent_stream)
            assert reassign_agent(any_engine, "q1", beto) == "Beto"
            await queue_woken(agent_stream)


def test_the_turn_written_by_the_api_and_the_workflow_record_leave_one_row_each(
    any_engine: sa.Engine,
) -> None:
    turn = [message(1, "customer", "m1"), message(2), message(3)]
    opened(any_engine, "c1")
    conversation_log.record_turn(any_engine, "c1", turn)  # the API, right after the Update
    assert [m.seq for m in conversation_log.messages_after(any_engine, "c1")] == [1, 2, 3]
    # the workflow's record of the same seqs (and one more) comes later
    conversation_log.record_batch(any_engine, batch("c1", "bot", *turn, message(4)))
    conversation_log.record_turn(any_engine, "c1", turn)  # a retried request
    rows = conversation_log.messages_after(any_engine, "c1")
    assert [(m.seq, m.text) for m in rows] == [(1, "m1"), (2, "m2"), (3, "m3"), (4, "m4")]
    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and row.last_seq == 4
    # an older batch recorded late never lowers last_seq
    conversation_log.record_batch(any_engine, batch("c1", "bot", message(1, "customer", "m1")))
    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and row.last_seq == 4


def test_the_record_first_then_the_api_write_changes_nothing(any_engine: sa.Engine) -> None:
    turn = [message(1, "customer", "m1"), message(2)]
    conversation_log.record_batch(any_engine, batch("c1", "ended", *turn))
    conversation_log.record_turn(any_engine, "c1", turn)
    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and (row.status, row.last_seq) == ("ended", 2)
    assert len(conversation_log.messages_after(any_engine, "c1")) == 2


def test_the_api_write_stores_each_value_as_the_workflow_record_does(any_engine: sa.Engine) -> None:
    """The API's write runs compiled statements on the driver's cursor (store/prepared.py):
    dates, JSON and empty fields must land exactly as SQLAlchemy's record writes them, so every
    reader, ordering and filter sees one format."""
    menu = Message(seq=2, sender="bot", text="Escolha", options=["1", "2"], data={"x": 1}, at=AT)
    entries = [message(1, "customer", "m1"), menu]
    conversation_log.record_batch(any_engine, batch("by-record", "bot", *entries))
    conversation_log.record_batch(any_engine, batch("by-api", "bot"))
    conversation_log.record_turn(any_engine, "by-api", entries)
    stored = sa.text(
        "SELECT seq, sender, kind, text, message_id, data, created_at FROM messages"
        " WHERE conversation_id = :c ORDER BY seq"
    )  # no column types: the values as the driver reads them back
    with any_engine.connect() as conn:
        by_record, by_api = (conn.execute(stored, {"c": c}).all() for c in ("by-record", "by-api"))
    assert by_api == by_record and len(by_api) == 2
    assert [m.data for m in conversation_log.messages_after(any_engine, "by-api")] == [
        None,
        {"options": ["1", "2"], "x": 1},
    ]


def test_a_turn_write_that_fails_leaves_nothing_and_fails_as_sqlalchemy_does(
    any_engine: sa.Engine,
) -> None:
    """The API's write is one transaction: a value no column takes (a naive time) leaves no
    row and no raised `last_seq`, and fails with SQLAlchemy's error, which the API catches
    (then tells the workflow to record the turn); the next write goes through."""
    conversation_log.record_batch(any_engine, batch("c1", "bot"))
    naive = Message(seq=2, sender="bot", text="m2", at=AT.replace(tzinfo=None))
    with pytest.raises(sa.exc.SQLAlchemyError):
        conversation_log.record_turn(any_engine, "c1", [message(1, "customer", "m1"), naive])
    assert conversation_log.messages_after(any_engine, "c1") == []
    row = conversation_log.get_conversation(any_engine, "c1")
    assert row is not None and row.last_seq == 0
    conversation_log.record_turn(any_engine, "c1", [message(1, "customer", "m1"), message(2)])
    assert [m.seq for m in conversation_log.messages_after(any_engine, "c1")] == [1, 2]


def rows(*seqs: int) -> list[MessageRow]:
    return [MessageRow("c1", seq, "bot", "text", None, None, None, AT) for seq in seqs]


def sent(*seqs_and_ids: tuple[int, str]) -> list[Sent]:
    """Rows to send, each with the stream's `id:` once it is sent."""
    return [Sent(rows(seq)[0], resume_id) for seq, resume_id in seqs_and_ids]


def rows_of(taken: list[Sent]) -> list[MessageRow]:
    return [row for row, _ in taken]


@pytest.mark.parametrize(
    ("seqs", "after", "gap_since", "now", "ready"),
    [
        ((4, 5, 6), 3, None, 0.0, 3),  # in order: all
        ((5, 6), 3, None, 0.0, 0),  # seq 4 missing: hold back
        ((4, 6, 7), 3, None, 0.0, 1),  # up to the gap
        ((5, 6), 3, 10.0, 10.0 + GAP_GRACE_SECONDS - 0.1, 0),  # still within the grace
        ((5, 6), 3, 10.0, 10.0 + GAP_GRACE_SECONDS, 2),  # the gap is given up on
        ((), 3, None, 0.0, 0),
    ],
)
def test_streams_send_in_seq_order_and_wait_a_moment_for_a_gap(
    seqs: tuple[int, ...], after: int, gap_since: float | None, now: float, ready: int
) -> None:
    assert in_order(rows(*seqs), after, gap_since, now) == ready


async def test_a_typing_signal_reaches_the_streams_of_that_conversation(
    any_engine: sa.Engine,
) -> None:
    """Typing (api/typing.py): on PostgreSQL a NOTIFY that the listening hub hands to the
    conversation's streams (so it crosses API replicas); on SQLite the hub directly."""
    from api import typing

    async with started(any_engine) as hub:
        with hub.watch() as mine, hub.watch() as other:
            mine.conversations(["c1"])
            other.conversations(["c2"])
            await settled(hub, mine, other)
            await typing.signal(any_engine, hub, "c1", "customer")
            async with asyncio.timeout(DEADLINE_SECONDS):
                while True:
                    await mine.wait()
                    events = typing.agent_events(mine)
                    if events:
                        break
            assert [e.event for e in events] == ["typing"]
            assert typing.customer_events(mine) == []  # taken once
            assert other.take_typing() == set()


def test_a_cursor_sends_a_message_recorded_after_it_gave_up_on_its_gap() -> None:
    cursor = LogCursor(after=3)
    assert cursor.take(rows(4, 6, 7), now=10.0) == sent((4, "4"))  # 5 is missing: hold 6, 7
    assert cursor.holding and cursor.looking_for(10.0) == []
    late = 10.0 + GAP_GRACE_SECONDS
    # given up on: past the gap; the id says 5 is still looked for
    assert cursor.take(rows(6, 7), now=late) == sent((6, "6;5"), (7, "7;5"))
    assert (cursor.after, cursor.holding, cursor.looking_for(late)) == (7, False, [5])
    # the read asks for 5 too; when it comes, it is sent first, once
    assert cursor.take(rows(5, 8), now=late + 1) == sent((5, "7"), (8, "8"))
    assert (cursor.after, cursor.looking_for(late + 1)) == (8, [])


def test_a_cursor_stops_looking_for_a_seq_that_never_comes() -> None:
    cursor = LogCursor(after=0, gap_since=0.0)
    cursor.take(rows(LATE_MAX + 10), now=GAP_GRACE_SECONDS)  # a huge gap, given up on
    looked_for = cursor.looking_for(GAP_GRACE_SECONDS)
    assert looked_for == list(range(10, LATE_MAX + 10))  # the nearest LATE_MAX only
    assert cursor.looking_for(GAP_GRACE_SECONDS + LATE_SECONDS) == []
    sparse = LogCursor(after=0, gap_since=0.0)  # many small gaps in one read
    sent = range(2, 4 * LATE_MAX, 2)
    sparse.take(rows(*sent), now=GAP_GRACE_SECONDS)
    missing = [seq for seq in range(1, max(sent)) if seq % 2]
    assert sparse.looking_for(GAP_GRACE_SECONDS) == missing[-LATE_MAX:]


def test_a_gap_further_on_gets_its_own_grace() -> None:
    cursor = LogCursor(after=3)
    assert cursor.take(rows(5), now=0.0) == []
    assert rows_of(cursor.take(rows(4, 5, 7), now=4.0)) == rows(4, 5)  # 6 is missing now
    assert cursor.take(rows(7), now=GAP_GRACE_SECONDS) == []  # 6's grace started at 4.0
    assert rows_of(cursor.take(rows(7), now=4.0 + GAP_GRACE_SECONDS)) == rows(7)


def test_a_cursor_resumes_where_its_id_stood() -> None:
    """A stream that gave up on 2 and sent 3 stood at `3;2`: the stream resumed there sends 2
    when it comes, and nothing it sent before."""
    cursor = LogCursor(after=1, gap_since=0.0)
    assert cursor.take(rows(3), now=GAP_GRACE_SECONDS) == sent((3, "3;2"))
    resumed = LogCursor.resuming("3;2", now=100.0)
    assert (resumed.after, resumed.looking_for(100.0)) == (3, [2])
    late_before = StreamGapsCollector.late
    assert resumed.take(rows(2, 4), now=101.0) == sent((2, "3"), (4, "4"))
    assert StreamGapsCollector.late == late_before  # its predecessor's: not counted again
    assert resumed.looking_for(100.0 + LATE_SECONDS) == []
    # a late one found and a new gap given up on, in one read: each id as it was sent
    resumed = LogCursor.resuming("7;5", now=0.0)
    resumed.gap_since = 0.0  # 8 has been missing for the whole grace
    assert resumed.take(rows(5, 9), now=GAP_GRACE_SECONDS) == sent((5, "7"), (9, "9;8"))
    assert (LogCursor.resuming("7", now=0.0).after, LogCursor.resuming("7", 0.0).late) == (7, {})


@pytest.mark.parametrize(
    "resume_id",
    [
        "x",
        "",
        "3;",
        "3;3",
        "3;0",
        "3;4",
        "-1",
        "3;2,,1",
        "٣",
        "9" * 19,
        "2147483648",
        " 3",
        "3;2 ",
        "1e3",
        "60;" + ",".join(map(str, range(1, LATE_MAX + 2))),
    ],
)
def test_a_position_no_stream_sent_is_refused(resume_id: str) -> None:
    with pytest.raises(ValueError, match="not a stream position"):
        LogCursor.resuming(resume_id, now=0.0)


def test_every_position_a_stream_sends_reads_back() -> None:
    cursor = LogCursor(after=0, gap_since=0.0)
    taken = cursor.take(rows(*range(2, 4 * LATE_MAX, 2)), now=GAP_GRACE_SECONDS)
    for _, resume_id in taken:
        resumed = LogCursor.resuming(resume_id, now=0.0)
        assert resumed.resume_id == resume_id
    assert len(LogCursor.resuming(taken[-1].resume_id, 0.0).looking_for(0.0)) == LATE_MAX


def test_a_cursor_over_holes_looks_for_the_seqs_missing_below_its_start() -> None:
    """An agent screen that reconnects after 7 while 5 was not recorded yet (its transcript,
    read again, lacks it) gets 5 from its stream when it comes."""
    cursor = LogCursor.over_holes(7, present=[1, 2, 3, 4, 6, 7], now=100.0)
    assert (cursor.after, cursor.looking_for(100.0)) == (7, [5])
    late_before = StreamGapsCollector.late
    assert rows_of(cursor.take(rows(5, 8), now=101.0)) == rows(5, 8)
    assert StreamGapsCollector.late == late_before  # not one this stream gave up on
    assert cursor.looking_for(101.0) == []
    far = LogCursor.over_holes(LATE_MAX + 10, present=[], now=0.0)
    assert far.looking_for(0.0) == list(range(10, LATE_MAX + 10))  # the nearest LATE_MAX
    assert LogCursor.resuming(far.resume_id, now=0.0).looking_for(0.0) == far.looking_for(0.0)
    assert far.looking_for(LATE_SECONDS) == []
    assert LogCursor.over_holes(10, present=range(1, 10), now=0.0).resume_id == "10"  # not 10
    assert LogCursor.over_holes(0, present=[], now=0.0).looking_for(0.0) == []


async def test_a_stream_starting_far_into_the_log_looks_only_for_what_is_missing(
    any_engine: sa.Engine,
) -> None:
    """The log's own seqs just LATE_MAX below the start are not taken for holes (they would be
    sent again); the one seq missing among them is."""
    last = LATE_MAX + 10
    seqs = [seq for seq in range(1, last + 1) if seq != last - 5]
    conversation_log.record_batch(any_engine, batch("far", "bot", *map(message, seqs)))
    cursor = await stream_hub.cursor_over_holes(any_engine, "far", last)
    assert cursor.looking_for(0.0) == [last - 5]
    assert (await stream_hub.cursor_over_holes(any_engine, "far", 1)).looking_for(0.0) == []


async def stream_gaps(http: httpx.AsyncClient) -> tuple[float, float]:
    """This API process's (gaps given up, late entries sent), from /metrics."""
    text = (await http.get("/metrics", headers=admin_headers())).text
    figures = dict(line.split() for line in text.splitlines() if line.startswith("transbordo_st"))
    return (
        float(figures["transbordo_stream_gaps_given_up_total"]),
        float(figures["transbordo_stream_late_entries_total"]),
    )


async def test_the_customer_stream_sends_a_message_recorded_after_its_gap_was_given_up(
    any_engine: sa.Engine, settings: Settings, time_env: WorkflowEnvironment, monkeypatch
) -> None:
    """The API wrote a later turn (seq 3) while the workflow's record of seq 2 came only after
    the stream stopped waiting for it (a busy worker, a locked database): seq 2 still reaches
    the open stream; `id:` says 3 was sent and 2 is still looked for (`3;2`), then only 3, so
    a stream resumed by `Last-Event-ID` does not send 3 again. The workflow's last record (5
    and the end, one transaction) then ends the stream only once 5 is sent: the stream reads
    the row before the log, so a row that says ended comes with every entry up to its last."""
    monkeypatch.setattr(stream_hub, "GAP_GRACE_SECONDS", 0.2)
    monkeypatch.setattr(channel, "GAP_GRACE_SECONDS", 0.2)
    conversation_log.record_batch(any_engine, batch("late", "bot", message(1, "customer", "m1")))
    app = create_app(settings, engine=any_engine, client=pydantic_client(time_env))
    path = "/api/conversations/late/stream"
    async with (
        serving(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as http,
        http.stream("GET", path, headers=admin_headers()) as response,
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        events = sse_events(response)
        before = await stream_gaps(http)

        async def next_message() -> tuple[int, str | None]:
            event = await anext(events)
            return event.data["seq"], event.id

        assert await next_message() == (1, "1")
        conversation_log.record_turn(any_engine, "late", [message(3)])
        assert await next_message() == (3, "3;2")  # after the grace; 2 still looked for
        conversation_log.record_batch(any_engine, batch("late", "bot", message(2)))
        assert await next_message() == (2, "3")
        conversation_log.record_turn(any_engine, "late", [message(4)])
        assert await next_message() == (4, "4")
        conversation_log.record_turn(any_engine, "late", [message(6)])
        assert await next_message() == (6, "6;5")
        conversation_log.record_batch(any_engine, batch("late", "ended", message(5)))
        assert await next_message() == (5, "6")
        assert (await anext(events)).event == "end"
        given_up, late = (a - b for a, b in zip(await stream_gaps(http), before, strict=True))
        assert (given_up, late) == (2, 2)  # 2 and 5: ops see it on /metrics


async def test_a_resumed_stream_still_sends_what_its_predecessor_gave_up_on(
    any_engine: sa.Engine, settings: Settings, time_env: WorkflowEnvironment, monkeypatch
) -> None:
    """The customer's connection drops after the stream gave up waiting for 2 and sent 3
    (`id: 3;2`); 2 is recorded meanwhile: the stream resumed with that `Last-Event-ID` sends 2,
    then what is new, and never 3 again."""
    monkeypatch.setattr(stream_hub, "GAP_GRACE_SECONDS", 0.2)
    monkeypatch.setattr(channel, "GAP_GRACE_SECONDS", 0.2)
    conversation_log.record_batch(any_engine, batch("again", "bot", message(1, "customer", "m1")))
    conversation_log.record_turn(any_engine, "again", [message(3)])
    app = create_app(settings, engine=any_engine, client=pydantic_client(time_env))
    path = "/api/conversations/again/stream"
    async with (
        serving(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as http,
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        async with http.stream("GET", path, headers=admin_headers()) as response:
            events = sse_events(response)
            before_the_drop = [await anext(events), await anext(events)]
        assert [(e.data["seq"], e.id) for e in before_the_drop] == [(1, "1"), (3, "3;2")]
        conversation_log.record_batch(any_engine, batch("again", "bot", message(2)))
        headers = {**admin_headers(), "Last-Event-ID": "3;2"}
        async with http.stream("GET", path, headers=headers) as response:
            events = sse_events(response)
            first = await anext(events)
            conversation_log.record_batch(any_engine, batch("again", "ended", message(4)))
            rest = [event async for event in events]
        assert [(first.data["seq"], first.id)] == [(2, "3")]
        assert [(e.event, e.data.get("seq"), e.id) for e in rest] == [
            ("message", 4, "4"),
            ("end", None, None),
        ]


async def test_a_stream_after_a_transcript_read_sends_what_was_missing_in_it(
    any_engine: sa.Engine, settings: Settings, time_env: WorkflowEnvironment
) -> None:
    """A connector read the transcript up to 3 while 2 was not recorded yet and follows the
    stream `?after=3`: 2 comes when it is recorded, then what is new."""
    conversation_log.record_batch(any_engine, batch("read", "bot", message(1, "customer", "m1")))
    conversation_log.record_turn(any_engine, "read", [message(3)])
    app = create_app(settings, engine=any_engine, client=pydantic_client(time_env))
    async with (
        serving(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS) as http,
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        read = (await http.get("/api/conversations/read/messages", headers=admin_headers())).json()
        assert [m["seq"] for m in read] == [1, 3]
        path = "/api/conversations/read/stream?after=3"
        async with http.stream("GET", path, headers=admin_headers()) as response:
            events = sse_events(response)
            conversation_log.record_batch(any_engine, batch("read", "bot", message(2)))
            first = await anext(events)
            conversation_log.record_batch(any_engine, batch("read", "ended", message(4)))
            rest = [event async for event in events]
        # reconnecting, a client sends the same URL and its Last-Event-ID, which wins
        headers = {**admin_headers(), "Last-Event-ID": "4"}
        async with http.stream(
            "GET", "/api/conversations/read/stream?after=1", headers=headers
        ) as again:
            resumed = [event.event async for event in sse_events(again)]
    assert [(first.data["seq"], first.id)] == [(2, "3")]
    assert [(e.event, e.data.get("seq"), e.id) for e in rest] == [
        ("message", 4, "4"),
        ("end", None, None),
    ]
    assert resumed == ["end"]


WATCHED = 2000


def test_the_sqlite_poller_reads_what_changed_not_what_is_watched(engine: sa.Engine) -> None:
    """With 2,000 conversations watched (and as many not), a poll after a commit reads the rows
    written since, not every watched one: its SQLite work (virtual machine steps, counted in
    tens) stays that of a few rows, whether the write moved a watched row, another, or
    nothing the streams show; it still wakes exactly the watched conversation that moved."""
    at = datetime.now(UTC)
    rows = [
        {"id": f"{side}{n}", "workflow_id": "w", "bot": "loja", "bot_version": 1,
         "contact_id": "5511", "status": "bot", "block": "menu", "last_seq": 1, "status_seq": 1,
         "created_at": at, "updated_at": at}
        for side in ("w", "u") for n in range(WATCHED)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(conversations.insert(), rows)
    watched = [f"w{n}" for n in range(WATCHED)]
    cursor = stream_sources._Cursor(engine)
    cursor.open()
    try:
        assert cursor.changes(watched, False).conversations == set()  # each row read once
        sqlite = cursor._conn.connection.driver_connection  # type: ignore[union-attr]
        steps = [0]

        def stepped() -> int:
            steps[0] += 1
            return 0

        def poll() -> tuple[set[str], int]:
            steps[0] = 0
            sqlite.set_progress_handler(stepped, 10)
            try:
                return cursor.changes(watched, False).conversations, steps[0]
            finally:
                sqlite.set_progress_handler(None, 10)

        polls = []
        conversation_log.record_batch(engine, batch("w7", "waiting", through=2))  # silent handoff
        polls.append(poll())
        conversation_log.record_batch(engine, batch("u7", "waiting", through=2))  # not watched
        polls.append(poll())
        with engine.begin() as conn:  # a write the streams do not show: wakes nothing
            conn.execute(conversations.update().where(conversations.c.id == "w8"), {"agent": "a"})
        polls.append(poll())
        polls.append(poll())  # idle
        assert [woken for woken, _ in polls] == [{"w7"}, set(), set(), set()]
        assert all(work < 100 for _, work in polls), polls  # reading every watched row: 4,800+
    finally:
        cursor.close()
