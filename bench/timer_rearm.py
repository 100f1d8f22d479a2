"""What re-arming a timer on every Update costs: the echo Update, with and without it.

    python bench/timer_rearm.py [--n 300] [--memory]

A conversation's main loop waits with `wait_condition(..., timeout=...)`: every customer turn
wakes it, so each turn's workflow task also cancels the idle timer and starts a new one (two
commands, two history events more than a bare Update). This measures that alone, on the dev
server kept in a SQLite file as `transbordo up` runs it (`--memory`: in memory): an echo
workflow as in bot_turn.py, and the same echo whose main loop re-arms a one-hour timer on every
Update, called alternately. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import EchoWorkflow, p, row  # noqa: E402

from transbordo.stack import dev_server  # noqa: E402


@workflow.defn(sandboxed=False)
class RearmingEcho:
    """The echo, with a conversation's loop: each Update moves the deadline on."""

    def __init__(self) -> None:
        self._done = False
        self._generation = 0

    @workflow.run
    async def run(self) -> None:
        while not self._done:
            generation = self._generation
            try:
                await workflow.wait_condition(
                    partial(self._moved, generation),
                    timeout=timedelta(hours=1),
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)

    def _moved(self, generation: int) -> bool:
        return self._done or self._generation != generation

    @workflow.update
    async def echo(self, text: str) -> str:
        self._generation += 1
        return text

    @workflow.signal
    def done(self) -> None:
        self._done = True


async def main(n: int, memory: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="timer-rearm-"))
    async with dev_server(None if memory else folder / "temporal.db") as env:
        client = env.client
        async with Worker(
            client,
            task_queue="timer-rearm",
            workflows=[EchoWorkflow, RearmingEcho],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            run_id = uuid.uuid4().hex[:6]
            plain = await client.start_workflow(
                EchoWorkflow.run, id=f"plain-{run_id}", task_queue="timer-rearm"
            )
            rearm = await client.start_workflow(
                RearmingEcho.run, id=f"rearm-{run_id}", task_queue="timer-rearm"
            )
            times: dict[str, list[float]] = {"plain": [], "rearm": []}
            for i in range(n + 20):
                for name, call in (
                    ("plain", partial(plain.execute_update, EchoWorkflow.echo, str(i))),
                    ("rearm", partial(rearm.execute_update, RearmingEcho.echo, str(i))),
                ):
                    started = time.perf_counter()
                    await call()
                    if i >= 20:
                        times[name].append((time.perf_counter() - started) * 1000)
            await plain.signal(EchoWorkflow.done)
            await rearm.signal(RearmingEcho.done)
            print(f"{'memory' if memory else 'SQLite file'} dev server, {n} alternating calls each")
            print(row("echo Update", times["plain"]))
            print(row("echo Update + timer re-armed", times["rearm"]))
            ratio = p(times["rearm"], 0.5) / p(times["plain"], 0.5)
            print(f"{'ratio (p50)':<38} {ratio:.3f}")
            for handle in (plain, rearm):
                events = [e async for e in handle.fetch_history_events()]
                timers = sum(
                    1 for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
                )
                print(f"  {handle.id}: {len(events)} events, {timers} timers started")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.memory))
