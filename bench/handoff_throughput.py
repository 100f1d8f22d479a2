"""bench/handoff.py, part 1: conversations through the Humano block, against an echo baseline."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from bot_turn import ECHO_TASK_QUEUE, EchoWorkflow, row
from handoff_http import Steps, bounded, expect, say, setup_bot
from handoff_waiting import dev_server_pid
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

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


async def throughput(
    client: Client,
    http: httpx.AsyncClient,
    n: int,
    concurrency: int,
    run_id: str,
    paced: int,
    think: float,
    *,
    meter: Callable[[], tuple[float, float]] | None = None,
    parts: str = "this process (worker + API + client)",
    rounds: int = 1,
) -> None:
    """`meter`: CPU seconds so far of (the Transbordo side's processes but the dev server, the
    dev server), `parts` naming the first; by default this process and its dev server.
    `rounds` > 1 alternates batches of conversations and of the echo (n / rounds each), so the
    machine's drift over the run (this one's moves its CPU per conversation by ±15 % from
    minute to minute) falls on both sides of the ratio alike."""
    measure = meter or cpu_now
    agents = await setup_bot(http, "loja", "Suporte", 3600, concurrency)
    lanes = itertools.cycle(agents)
    lane_agent: dict[int, dict[str, str]] = {}
    contact_of: dict[str, str] = {}
    steps = Steps()
    seen: list[float] = []

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
            await steps.timed(
                "agent: message",
                expect(http.post(f"{url}/messages", json={"text": f"a{k}"}, headers=agent)),
            )
            if think:  # a person's pace: when does the customer's transcript show it?
                lag = await shown_after(http, conversation_id, f"a{k}")
                seen.append(lag * 1000)
            await asyncio.sleep(think)
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
    handles = [client.get_workflow_handle(_wid(client, f"h{run_id}-{i}")) for i in range(n)]
    seconds = drain = echo_seconds = echo_events = 0.0
    cpu, echo_cpu = (0.0, 0.0), (0.0, 0.0)
    rounds = max(1, min(rounds, n))
    for k in range(rounds):
        first, batch = n * k // rounds, n * (k + 1) // rounds - n * k // rounds
        cpu_before = measure()
        seconds += await bounded(batch, concurrency, lambda i, first=first: conversation(first + i))
        started = time.perf_counter()
        await asyncio.gather(*(h.result() for h in handles[first : first + batch]))
        drain = time.perf_counter() - started
        cpu = _plus(cpu, cpu_per(cpu_before, n, measure))
        echo = await echo_baseline(client, batch, concurrency, f"{run_id}-{first}", measure)
        echo_seconds += batch / echo[0]
        echo_events += echo[1] * batch / n
        echo_cpu = _plus(echo_cpu, (echo[2][0] * batch / n, echo[2][1] * batch / n))
    rate = n / seconds
    for name, values in steps.times.items():
        if "409" in name:
            print(f"   {name:<38} x{len(values)}")
        else:
            print("   " + row(name, values))
    print(
        f"\n   transbordo: {rate:6.2f} conversations/s  ({n} in {seconds:.1f} s;"
        f" all workflows closed {drain:.2f} s after the last reply"
        + (f"; {rounds} rounds, each followed by the echo's)" if rounds > 1 else ")")
    )
    echo_rate = n / echo_seconds
    print(
        f"   echo:       {echo_rate:6.2f} conversations/s  (update-with-start + 8 Updates"
        " + Signal each)"
    )
    print(
        f"   ratio (echo / transbordo): {echo_rate / rate:.2f};"
        f" transbordo / echo: {rate / echo_rate:.2f} (target >= 0.5)"
    )
    print(
        f"   CPU per conversation, {parts} / dev server:"
        f" transbordo {cpu[0]:.1f} / {cpu[1]:.1f} ms,"
        f" echo {echo_cpu[0]:.1f} / {echo_cpu[1]:.1f} ms;"
        f" CPU ratio (echo / transbordo) {sum(echo_cpu) / sum(cpu):.2f}\n"
    )

    events, timers = await histories(handles)
    print_events(events, n, echo_events)
    print_pump_timers(timers)

    if paced:
        await at_a_persons_pace(client, conversation, paced, think, run_id)
        print("   " + row("agent's message in the customer's transcript, after its 200", seen))
        print("   (0: the customer's GET right after the agent's 200 already had it)\n")


def print_pump_timers(timers: list[tuple[float, float]]) -> None:
    """The sub-second timers' lateness (the batching pump's; none once messages are written
    ahead)."""
    pump = [late * 1000 for duration, late in timers if duration < 1]
    if pump:
        print("   " + row(f"server lateness, {len(pump)} sub-second timers", pump))
        print("   (the pump's RECORD_BATCH_DELAY; lateness is after the timer's due time)\n")


async def at_a_persons_pace(
    client: Client,
    conversation: Callable[[int, float], Awaitable[None]],
    paced: int,
    think: float,
    run_id: str,
) -> None:
    """`paced` conversations with `think` seconds between steps, and their histories."""
    print(
        f"   paced: {paced} conversations with {think:.1f} s between steps (a person's"
        " pace; before messages were written ahead, the pump recorded each step in its own"
        " batch)"
    )
    await bounded(paced, paced, lambda i: conversation(-1000 - i, think))
    handles = [
        client.get_workflow_handle(_wid(client, f"h{run_id}-{-1000 - i}")) for i in range(paced)
    ]
    await asyncio.gather(*(h.result() for h in handles))
    events, _ = await histories(handles)
    print_events(events, paced, None)


async def shown_after(http: httpx.AsyncClient, conversation_id: str, text: str) -> float:
    """Seconds from now until the customer's transcript holds `text` (0: at once)."""
    started, first = time.perf_counter(), True
    while True:
        log = (await http.get(f"/api/conversations/{conversation_id}/messages")).json()
        if any(m["text"] == text for m in log):
            return 0.0 if first else time.perf_counter() - started
        first = False
        if time.perf_counter() - started > 10:
            raise RuntimeError(f"{text!r} never reached the customer's transcript")
        await asyncio.sleep(0.005)


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


def _plus(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return a[0] + b[0], a[1] + b[1]


def cpu_now() -> tuple[float, float]:
    """User + system CPU seconds so far of this process (all threads) and the dev server: unlike
    rates, they hardly move with other work on the machine."""
    server = dev_server_pid()
    return time.process_time(), cpu_seconds(server) if server else 0.0


def cpu_per(
    before: tuple[float, float], n: int, measure: Callable[[], tuple[float, float]] | None = None
) -> tuple[float, float]:
    """Milliseconds of CPU per conversation since `before`: (this process, dev server)."""
    after = (measure or cpu_now)()
    return (after[0] - before[0]) * 1000 / n, (after[1] - before[1]) * 1000 / n


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def echo_baseline(
    client: Client,
    n: int,
    concurrency: int,
    run_id: str,
    measure: Callable[[], tuple[float, float]],
) -> tuple[float, float, tuple[float, float]]:
    """Conversations per second of the echo workflow doing the same Temporal calls, its history
    events per conversation, and its CPU per conversation, measured as the conversations' is:
    after the warm-up, up to every run closed (not the histories' reading)."""

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
    cpu_before = measure()
    seconds = await bounded(n, concurrency, conversation)
    handles = [client.get_workflow_handle(f"echo-{run_id}-{i}") for i in range(n)]
    await asyncio.gather(*(h.result() for h in handles))
    cpu = cpu_per(cpu_before, n, measure)
    events = 0
    for handle in handles:
        events += len((await handle.fetch_history()).events)
    return n / seconds, events / n, cpu


def _wid(client: Client, contact: str) -> str:
    """The workflow id of `contact`'s conversation with loja (a keyed hash of the contact)."""
    from api.usecases.delivery import workflow_id
    from encryption.codec import ring_of

    return workflow_id(ring_of(client), "loja", contact)
