"""One change feed per API process, fanned out to every open SSE stream of that process.

Before, every open stream polled SQL on its own (0.2 s customer, 0.5 s agent), so an idle
contact center paid for each open window. Now a stream registers what it cares about (its
conversation's log, or an agent's conversations and the waiting list) and sleeps until the hub
wakes it; only then does it read SQL, from its own cursor (`LogCursor`, which a customer
stream's `Last-Event-ID` resumes). The feed is `LISTEN/NOTIFY` on PostgreSQL and one shared
poller on SQLite (api/stream_sources.py); writers say what changed in store/notify.py.

A wake-up is a flag, not a message: a stream that is busy when several changes arrive wakes
once and reads them all, and one that reads SQL while a change arrives is woken again, so no
change is lost between its read and its wait.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Annotated, NamedTuple, Protocol

from fastapi import Depends, Request
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from api.stream_drain import Drain
from store import conversations as conversation_log
from store.conversations import MessageRow
from store.tables import SEQ_MAX

log = logging.getLogger(__name__)

GAP_GRACE_SECONDS = 5.0
"""How long a stream holds back messages after a missing seq (written by another writer a
moment later: the API writes a turn, the workflow's log writes the rest) before it gives up on
the missing one and sends what it has."""
LATE_SECONDS = 600.0
"""How long a stream still looks for a seq it gave up waiting for (a workflow whose record came
late: a busy worker, a locked database), to send it when it comes."""
LATE_MAX = 50
"""At most this many such seqs per conversation and stream (each read asks for them)."""
READ_BATCH = 500
"""Messages a stream reads at a time (it reads again at once while there are more)."""


class Source(Protocol):
    """Where the hub's notices come from (api/stream_sources.py)."""

    async def run(self, hub: StreamHub) -> None: ...


class Watch:
    """One open stream's interests and its wake-up flag."""

    def __init__(self, hub: StreamHub, drain: Drain | None = None) -> None:
        self._hub = hub
        self._event = asyncio.Event()
        self._conversations: set[str] = set()
        self._changed: set[str] = set()
        self._queue = False
        self._queue_changed = False
        self._typing: set[tuple[str, str]] = set()
        self._drain = drain
        self._forget_drain = drain.on_drain(self._read_all) if drain is not None else None

    @property
    def draining(self) -> bool:
        """The server is closing this stream's connection: send what is ready, then return."""
        return self._drain is not None and self._drain.draining

    def conversations(self, ids: Iterable[str]) -> None:
        """Wake this stream when the log of any of `ids` changes (replaces the previous set)."""
        wanted = set(ids)
        for gone in self._conversations - wanted:
            self._hub._forget(gone, self)
        for new in wanted - self._conversations:
            self._hub._by_conversation[new].add(self)
        self._conversations = wanted

    def queue(self) -> None:
        """Wake this stream when the waiting list changes."""
        self._queue = True
        self._hub._queue.add(self)

    def _read_all(self) -> None:
        """The drain started: the stream reads all it watches once more, then returns."""
        self._changed |= self._conversations
        self.wake(queue=self._queue)

    def wake(self, conversation_id: str | None = None, *, queue: bool = False) -> None:
        """Wake this stream (neither: something else it follows changed, api/channel_rechecks)."""
        if conversation_id is not None:
            self._changed.add(conversation_id)
        self._queue_changed = self._queue_changed or queue
        self._event.set()

    async def wait(self, timeout: float | None = None) -> None:
        """Until woken (or `timeout` seconds; None: no limit); at once while draining."""
        if self.draining:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()
        self._event.clear()

    def take_typing(self) -> set[tuple[str, str]]:
        """(conversation id, side) of the typing signals since the last take (api/typing.py)."""
        typing, self._typing = self._typing, set()
        return typing

    def take(self) -> tuple[bool, set[str]]:
        """(the queue changed, the conversations whose log changed) since the last take."""
        queue, changed = self._queue_changed, self._changed
        self._queue_changed, self._changed = False, set()
        return queue, changed

    def _close(self) -> None:
        if self._forget_drain is not None:
            self._forget_drain()
        for conversation_id in self._conversations:
            self._hub._forget(conversation_id, self)
        self._hub._queue.discard(self)


class StreamHub:
    """The process's streams and the one task feeding them."""

    def __init__(self, source: Source | None = None) -> None:
        self._source = source
        self._by_conversation: defaultdict[str, set[Watch]] = defaultdict(set)
        self._queue: set[Watch] = set()
        self._watches: set[Watch] = set()
        self._task: asyncio.Task[None] | None = None
        self.streams_opened = asyncio.Event()
        """Set while at least one stream is open (a poller sleeps when none is)."""
        self.feeding = asyncio.Event()
        """Set while the source is listening (polling): changes from then on wake streams."""

    @property
    def open_streams(self) -> int:
        """How many SSE streams this process holds open now (the metrics gauge reads this)."""
        return len(self._watches)

    def watched_conversations(self) -> list[str]:
        return list(self._by_conversation)

    @property
    def queue_watched(self) -> bool:
        return bool(self._queue)

    async def start(self) -> None:
        if self._source is not None and self._task is None:
            self._task = asyncio.create_task(self._source.run(self), name="stream hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextmanager
    def watch(self, drain: Drain | None = None) -> Iterator[Watch]:
        """A stream's registration while it is open; `drain` (its connection's) wakes it too."""
        watch = Watch(self, drain)
        self._watches.add(watch)
        self.streams_opened.set()
        try:
            yield watch
        finally:
            watch._close()
            self._watches.discard(watch)
            if not self._watches:
                self.streams_opened.clear()

    # --- what the sources call -----------------------------------------------------------------

    def log_changed(self, conversation_id: str) -> None:
        for watch in self._by_conversation.get(conversation_id, ()):
            watch.wake(conversation_id)

    def typing(self, conversation_id: str, side: str) -> None:
        """Someone is typing: the streams of that conversation say so (nothing is stored)."""
        for watch in self._by_conversation.get(conversation_id, ()):
            watch._typing.add((conversation_id, side))
            watch._event.set()

    def queue_changed(self) -> None:
        for watch in self._queue:
            watch.wake(queue=True)

    def wake_all(self) -> None:
        """Every stream reads again (the feed (re)started: notices may have been missed)."""
        self.feeding.set()
        for conversation_id, watches in self._by_conversation.items():
            for watch in watches:
                watch.wake(conversation_id)
        self.queue_changed()

    def _forget(self, conversation_id: str, watch: Watch) -> None:
        watches = self._by_conversation.get(conversation_id)
        if watches is not None:
            watches.discard(watch)
            if not watches:
                del self._by_conversation[conversation_id]


def in_order(rows: Sequence[MessageRow], after: int, gap_since: float | None, now: float) -> int:
    """How many of `rows` (seqs after `after`, ascending) may be sent now: the run without a
    missing seq, or all of them once a gap is older than GAP_GRACE_SECONDS. A turn's messages
    can be written by the API before the workflow writes earlier ones; a stream that sent the
    later ones first would never send the earlier."""
    count = 0
    for row in rows:
        if row.seq != after + count + 1:
            break
        count += 1
    if count < len(rows) and gap_since is not None and now - gap_since >= GAP_GRACE_SECONDS:
        return len(rows)
    return count


class StreamGapsCollector(Collector):
    """`transbordo_stream_gaps_given_up_total` and `transbordo_stream_late_entries_total`: seqs
    this process's streams stopped waiting for, and those they sent later (ops: the workflow's
    record trails the API's writes by more than GAP_GRACE_SECONDS: a slow worker or database)."""

    given_up = 0  # per process, as every figure of an API process's /metrics
    late = 0

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "transbordo_stream_gaps_given_up",
            "Missing seqs this API process's streams stopped waiting for.",
            value=StreamGapsCollector.given_up,
        )
        yield CounterMetricFamily(
            "transbordo_stream_late_entries",
            "Entries this API process's streams sent after they had stopped waiting for them.",
            value=StreamGapsCollector.late,
        )


class Sent(NamedTuple):
    """A row to send, and where the stream stands once it is sent (`LogCursor.resume_id`)."""

    row: MessageRow
    resume_id: str


SEQ = "[1-9][0-9]{0,9}"
RESUME_ID = re.compile(rf"(0|{SEQ})(?:;({SEQ}(?:,{SEQ}){{0,{LATE_MAX - 1}}}))?")
"""`<after>` or `<after>;<missing>,<missing>…` (at most LATE_MAX, ascending): what
`LogCursor.resume_id` writes."""


@dataclass
class LogCursor:
    """Where a stream is in one conversation's log: the last seq it sent in order (`after`),
    since when it holds back what follows a missing seq (`gap_since`), and the seqs it gave
    up waiting for, each looked for until a time (`late`, monotonic), so a message recorded
    late still reaches the stream, out of order, instead of never."""

    after: int
    gap_since: float | None = None
    late: dict[int, float] = field(default_factory=dict)
    inherited: frozenset[int] = frozenset()
    """The missing seqs a stream took over when it started (from its `Last-Event-ID`, or the
    holes below where it starts: `over_holes`): sent when found, but not counted as late
    entries, which are those this stream gave up on (a client could name seqs it has)."""

    @classmethod
    def resuming(cls, resume_id: str, now: float) -> LogCursor:
        """The cursor a stream's `id:` stood for (`resume_id`), its missing seqs looked for
        LATE_SECONDS from now; ValueError when `resume_id` is not one."""
        match = RESUME_ID.fullmatch(resume_id)
        if match is None:
            raise ValueError(f"not a stream position: {resume_id!r}")
        after = int(match[1])
        missing = [int(seq) for seq in match[2].split(",")] if match[2] else []
        ascending = all(a < b for a, b in itertools.pairwise([*missing, after]))
        if after > SEQ_MAX or not ascending:
            raise ValueError(f"not a stream position: {resume_id!r}")
        return cls._taking_over(after, missing, now)

    @classmethod
    def _taking_over(cls, after: int, missing: Iterable[int], now: float) -> LogCursor:
        """A cursor after `after` that looks for `missing` (seqs below it) LATE_SECONDS from
        now, as if it had given up on them itself, without counting them as its late entries."""
        seqs = sorted(missing)
        return cls(after, late=dict.fromkeys(seqs, now + LATE_SECONDS), inherited=frozenset(seqs))

    @property
    def resume_id(self) -> str:
        """Where the stream stands, for the customer stream's `id:` (sent back as
        `Last-Event-ID`): the last seq sent in order, and the seqs below it still looked for,
        so a resumed stream repeats nothing and still sends those when they come."""
        if not self.late:
            return str(self.after)
        return f"{self.after};{','.join(map(str, sorted(self.late)))}"

    def looking_for(self, now: float) -> list[int]:
        """The given-up seqs still looked for (a read asks for them with what is new)."""
        self.late = {seq: until for seq, until in self.late.items() if until > now}
        return sorted(self.late)

    def take(self, rows: Sequence[MessageRow], now: float) -> list[Sent]:
        """Of a read (`messages_after(after, also=looking_for())`), what to send now, each
        with the position once it is sent: the late ones found, then the new ones in order up
        to a missing seq (past it, once the gap is GAP_GRACE_SECONDS old: its seqs are then
        looked for, LATE_SECONDS more; the nearest LATE_MAX)."""
        found = [row for row in rows if row.seq in self.late]
        new = [row for row in rows if row.seq > self.after]
        ready = new[: in_order(new, self.after, self.gap_since, now)]
        if len(ready) == len(new):
            self.gap_since = None
        elif ready or self.gap_since is None:  # a gap further on: its grace starts now
            self.gap_since = now
        sent = []
        for row in found:
            del self.late[row.seq]
            sent.append(Sent(row, self.resume_id))
        StreamGapsCollector.late += sum(row.seq not in self.inherited for row in found)
        for row in ready:
            skipped = range(max(self.after + 1, row.seq - LATE_MAX), row.seq)
            if skipped:
                self.late |= dict.fromkeys(skipped, now + LATE_SECONDS)
                for seq in sorted(self.late)[:-LATE_MAX]:
                    del self.late[seq]
                StreamGapsCollector.given_up += len(skipped)
            self.after = row.seq
            sent.append(Sent(row, self.resume_id))
        return sent

    @property
    def holding(self) -> bool:
        """Messages wait behind a missing seq: read again within GAP_GRACE_SECONDS."""
        return self.gap_since is not None

    @staticmethod
    def below(after: int) -> range:
        """The seqs a stream starting after seq `after` looks back over: the LATE_MAX below it."""
        return range(max(after - LATE_MAX, 1), after)

    @classmethod
    def over_holes(cls, after: int, present: Iterable[int], now: float) -> LogCursor:
        """A stream starting after seq `after`, which a read of the transcript (an agent screen's
        after a reconnection, a connector's before `?after=`) reached while seqs below it were
        not recorded yet: of `below(after)`, those not in the log (`present`: those that are)
        are looked for as `take` looks for the seqs it gave up on."""
        return cls._taking_over(after, set(cls.below(after)).difference(present), now)


async def cursor_over_holes(engine: Engine, conversation_id: str, after: int) -> LogCursor:
    """`LogCursor.over_holes` for a stream starting after seq `after` of this conversation."""
    window = LogCursor.below(after)
    if not window:
        return LogCursor(after)
    present = await asyncio.to_thread(
        conversation_log.seqs_present, engine, conversation_id, window
    )
    return LogCursor.over_holes(after, present, time.monotonic())


async def read_log(
    engine: Engine, conversation_id: str, cursor: LogCursor
) -> tuple[list[Sent], bool]:
    """One read of a conversation's log for a stream at `cursor`: what to send now
    (`LogCursor.take`), and whether more may be there to read at once (a full batch, no gap)."""
    late = cursor.looking_for(time.monotonic())
    after = cursor.after
    rows = await asyncio.to_thread(
        conversation_log.messages_after, engine, conversation_id, after, READ_BATCH, also=late
    )
    ready = cursor.take(rows, time.monotonic())
    return ready, len(rows) >= READ_BATCH and not cursor.holding


def hub_for(engine: Engine) -> StreamHub:
    """The hub for this engine's backend: LISTEN/NOTIFY on PostgreSQL, a poller on SQLite."""
    from api.stream_sources import PostgresListener, SqlitePoller

    if engine.dialect.name == "postgresql":
        return StreamHub(PostgresListener(engine))
    return StreamHub(SqlitePoller(engine))


async def _hub(request: Request) -> StreamHub:
    hub: StreamHub = request.app.state.stream_hub
    return hub


HubDep = Annotated[StreamHub, Depends(_hub)]
