"""bench/handoff.py, part 2: thousands waiting at once, `next` under them, abandonment lateness."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from bot_turn import StepTimes, row
from handoff_http import AGENT_CAPACITY, bounded, expect, say, setup_bot
from temporalio.client import Client

from api.usecases import agent_actions
from store import queue as queue_store
from store.tables import queue_entries, services

FEW_WAITING = 50
"""`next` is first measured with this many waiting (all in the worker's cache)."""


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def dev_server_pid() -> int | None:
    """The `temporal server start-dev` child of this process (the environment has no pid)."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = next(
                line.split()[1]
                for line in (entry / "status").read_text().splitlines()
                if line.startswith("PPid:")
            )
        except OSError:
            continue
        if parent == me and b"start-dev" in command:
            return int(entry.name)
    return None


def memory(label: str) -> None:
    server = dev_server_pid()
    server_rss = f"{rss_mib(server):7.0f} MiB" if server else "   (not found)"
    print(f"   {label:<38} this process {rss_mib():6.0f} MiB   dev server {server_rss}")


def waiting_count(engine: sa.Engine, service: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                sa.select(sa.func.count())
                .select_from(queue_entries.join(services))
                .where(services.c.name == service, queue_entries.c.status == "waiting")
            )
            or 0
        )


async def many_waiting(
    client: Client,
    http: httpx.AsyncClient,
    engine: sa.Engine,
    waiting: int,
    nexts: int,
    abandon: int,
    abandon_seconds: int,
    concurrency: int,
    run_id: str,
    time_limit: float,
) -> None:
    print(f"2. {waiting} conversations waiting at once (queued {concurrency} at a time)\n")
    few = min(FEW_WAITING, nexts)
    agents = await setup_bot(
        http,
        "fila",
        "Espera",
        7 * 24 * 3600,
        -(-(few + nexts) // AGENT_CAPACITY),
        straight_to_queue=True,
    )
    await setup_bot(http, "sumido", "Abandono", abandon_seconds, 0, straight_to_queue=True)
    taken = 0
    profile = StepTimes()
    profile.wrap(queue_store, "waiting_for_agent", "SQL waiting_for_agent (5 oldest)")
    profile.wrap(agent_actions, "update", "Temporal pickup Update")

    async def take_next(count: int, label: str) -> None:
        """`count` sequential `next` calls (the oldest first), split into SQL and Update."""
        nonlocal taken
        profile.times.clear()
        profile.enabled = True
        latencies = []
        for _ in range(count):
            began = time.perf_counter()
            agent = agents[taken // AGENT_CAPACITY]
            await expect(http.post("/api/agent/next", headers=agent))
            latencies.append((time.perf_counter() - began) * 1000)
            taken += 1
        profile.enabled = False
        print("   " + row(f"POST /api/agent/next, {label}", latencies))
        for name, values in profile.times.items():
            print("   " + row(f"  {name}", values))

    # `next` with a few waiting (all in the worker's cache), for comparison.
    await bounded(few, concurrency, lambda i: say(http, "fila", f"f{run_id}-{i}", "m1", "oi"))
    await take_next(few, f"{few} waiting (x{few})")
    print()
    memory("before")

    reached = await queue_many(http, engine, waiting, concurrency, run_id, time_limit)

    # `next` with them waiting: the oldest first, one after the other.
    await take_next(min(nexts, reached), f"{reached} waiting (x{min(nexts, reached)})")

    await abandonment(client, http, engine, abandon, abandon_seconds, concurrency, run_id)
    memory("at the end")


async def queue_many(
    http: httpx.AsyncClient,
    engine: sa.Engine,
    waiting: int,
    concurrency: int,
    run_id: str,
    time_limit: float,
) -> int:
    """Queue `waiting` customers of `fila` (or as many as `time_limit` allows); how many wait."""
    queued = 0
    accepted_only = 0
    started = time.perf_counter()

    async def enqueue(i: int) -> None:
        nonlocal queued, accepted_only
        if time.perf_counter() - started > time_limit:
            return  # out of time: measure what was reached
        body = {"contact_id": f"w{run_id}-{i}", "message_id": "m1", "text": "oi"}
        answer = await http.post("/api/bots/fila/messages", json=body)
        if answer.status_code == 202:
            accepted_only += 1
        else:
            assert answer.status_code == 200 and answer.json()["status"] == "waiting", answer.text
        queued += 1
        if queued % 1000 == 0:
            memory(f"... {queued} queued, {time.perf_counter() - started:.0f} s")

    seconds = await bounded(waiting, concurrency, enqueue)
    reached = waiting_count(engine, "Espera")
    print(
        f"   queued {queued} in {seconds:.1f} s ({queued / seconds:.1f}/s;"
        f" {accepted_only} answered 202); waiting in SQL: {reached}"
    )
    if queued < waiting:
        print(f"   STOPPED at {queued} of {waiting}: --time-limit {time_limit:.0f} s reached")
    await asyncio.sleep(3)  # let the recording activities settle
    memory(f"with {reached} waiting")
    return reached


async def abandonment(
    client: Client,
    http: httpx.AsyncClient,
    engine: sa.Engine,
    abandon: int,
    abandon_seconds: int,
    concurrency: int,
    run_id: str,
    rate: float = 0,
) -> None:
    """Customers of `sumido` (short abandon_seconds, nobody serves it): how late they close.
    `rate` (per second): queue them at that pace, so their timers fire at it too (without it
    they come as fast as the stack queues them, and a faster stack gets a denser burst)."""
    started = time.perf_counter()

    async def queue_one(i: int) -> None:
        """Queued: answered at once (200) or later (202: no worker answered in time)."""
        if rate:
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        body = {"contact_id": f"a{run_id}-{i}", "message_id": "m1", "text": "oi"}
        answer = await http.post("/api/bots/sumido/messages", json=body)
        assert answer.status_code in (200, 202), answer.text

    seconds = await bounded(abandon, concurrency, queue_one)
    print(
        f"\n   abandonment: {abandon} more queued in {seconds:.1f} s with abandon_seconds"
        f" {abandon_seconds}, no agent"
    )
    deadline = started + seconds + abandon_seconds + 120
    while time.perf_counter() < deadline and waiting_count(engine, "Abandono"):
        await asyncio.sleep(1)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                queue_entries.c.workflow_id,
                queue_entries.c.status,
                queue_entries.c.enqueued_at,
                queue_entries.c.ended_at,
            )
            .select_from(queue_entries.join(services))
            .where(services.c.name == "Abandono")
        ).all()
    abandoned = [r for r in rows if r.status == "abandoned"]
    late = [
        (r.ended_at - r.enqueued_at).total_seconds() * 1000 - abandon_seconds * 1000
        for r in abandoned
    ]
    print(f"   {len(abandoned)} of {len(rows)} closed as abandoned")
    if late:
        print("   " + row("lateness: ended - enqueued - abandon", late))
    # The same, split: the server firing the timer late, then the worker closing the row.
    started_late, server_late, worker_part = [], [], []
    for r in abandoned:
        fired = await abandonment_timer_fired(client, r.workflow_id, abandon_seconds)
        if fired is not None:
            due, at = fired
            enqueued = aware(r.enqueued_at) + timedelta(seconds=abandon_seconds)
            started_late.append((due - enqueued).total_seconds() * 1000)
            server_late.append((at - due).total_seconds() * 1000)
            worker_part.append((aware(r.ended_at) - at).total_seconds() * 1000)
    if server_late:
        # The timer's duration is counted from workflow.now() (the start of the workflow task
        # that queued the customer) but runs from the task's completion: the first part.
        print("   " + row("  timer due - (enqueued + abandon)", started_late))
        print("   " + row("  server: TIMER_FIRED - due", server_late))
        print("   " + row("  worker: ended_at - TIMER_FIRED", worker_part))


async def abandonment_timer_fired(
    client: Client, workflow_id: str, abandon_seconds: int
) -> tuple[datetime, datetime] | None:
    """(due, fired) of the abandonment timer in the workflow's history, by the server's clock."""
    started: dict[int, Any] = {}
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("timer_started_event_attributes"):
            started[event.event_id] = event
        elif event.HasField("timer_fired_event_attributes"):
            start = started[event.timer_fired_event_attributes.started_event_id]
            duration = start.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            if duration.total_seconds() > abandon_seconds / 2:
                due = start.event_time.ToDatetime(tzinfo=UTC) + duration
                return due, event.event_time.ToDatetime(tzinfo=UTC)
    return None
