"""Benchmark: what a search-attribute upsert costs the Temporal server, per workflow task.

    python bench/upsert_cost.py [--conversations 150] [--rounds 6]

A conversation moves its `ConversationStatus` (with `Service` or `Agent`) by an upsert in the
workflow task of the Update that changed it: four per handoff conversation (waiting, in
service, back to the bot, ended), each an action on Temporal Cloud and a visibility write on
any cluster. Here a minimal workflow takes 8 Updates, and the in-memory dev server's CPU per
Update is read from /proc with an upsert of two Keyword attributes in each of its 8 workflow
tasks, or in the first only (so both set the same attributes); blocks of each alternate. Prints the
server's ms of CPU per Update of each, and per upsert. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handoff_throughput import cpu_seconds  # noqa: E402
from handoff_waiting import dev_server_pid  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import UnsandboxedWorkflowRunner, Worker  # noqa: E402

from transbordo import eventloop  # noqa: E402
from transbordo.stack import dev_server  # noqa: E402
from workflows.search_attributes import SERVICE, STATUS  # noqa: E402

UPDATES = 8
TASK_QUEUE = "bench-upsert"


@workflow.defn
class StatusWorkflow:
    """Takes UPDATES Updates; those that say so upsert two Keyword attributes."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def step(self, i: int, upsert: bool) -> int:
        if upsert:
            status, service = STATUS.value_set(f"s{i % 3}"), SERVICE.value_set(f"x{i % 2}")
            workflow.upsert_search_attributes([status, service])
        self.done = i == UPDATES - 1
        return i


async def conversations(client: Client, n: int, upserts_every_update: bool) -> None:
    """`n` workflows, 10 at a time, each through its UPDATES Updates."""
    slots = asyncio.Semaphore(10)

    async def one() -> None:
        async with slots:
            handle = await client.start_workflow(
                StatusWorkflow.run, id=f"upsert-{uuid.uuid4()}", task_queue=TASK_QUEUE
            )
            for i in range(UPDATES):
                upsert = upserts_every_update or i == 0
                await handle.execute_update(StatusWorkflow.step, args=[i, upsert])
            await handle.result()

    await asyncio.gather(*(one() for _ in range(n)))


def server_cpu() -> float:
    """CPU seconds of this process's child dev server."""
    pid = dev_server_pid()
    assert pid is not None, "no dev server child"
    return cpu_seconds(pid)


async def main(n: int, rounds: int) -> None:
    async with (
        dev_server() as env,
        Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=[StatusWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        await conversations(env.client, 20, True)  # warm-up
        per_update: dict[bool, list[float]] = {True: [], False: []}
        for block in range(rounds):
            for every in (block % 2 == 0, block % 2 == 1):
                before = server_cpu()
                await conversations(env.client, n, every)
                per_update[every].append((server_cpu() - before) / (n * UPDATES) * 1000)
    print(f"in-memory dev server: {n} workflows of {UPDATES} Updates per block, alternating\n")
    for every, figures in per_update.items():
        label = "an upsert in every task" if every else "an upsert in the first"
        print(f"{label:24} {' '.join(f'{x:5.2f}' for x in figures)}  ms server CPU per Update")
    more = statistics.median(per_update[True]) - statistics.median(per_update[False])
    per_upsert = more * UPDATES / (UPDATES - 1)
    print(f"\none upsert: {per_upsert:.2f} ms of server CPU (difference of medians)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    eventloop.run(main(args.conversations, args.rounds))
