"""Benchmark, shape (b): does the bare Update also slow down when its processes sit idle?

    python bench/turn_idle.py [--n 400] [--warmup 20]

turn_floor.py reads the bot turn higher (1.31-1.40) than turn_processes.py (1.25-1.27): there the
product's API and worker processes wait through three other calls between two turns, here
through one. To tell whether any Temporal client and worker pay for such waits, or only the
product's processes, three calls take turns in an order shuffled per round (seeded):

1. the bare echo Update from this process (its client and echo worker; the process works on
   every call, as the HTTP client of the bot's turn too);
2. the same Update from a child process with a client and an echo worker of its own, used for
   this call only (idle through the other two, as the product's processes are), timed inside
   the child so the pipe to it is not counted;
3. the bot turn (`POST /api/bots/{bot}/messages`).

Each is printed with its ratio to (1) and to (2). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import load_client  # noqa: E402
from bot_turn import EchoWorkflow, echo_worker, p, row, turn_pair  # noqa: E402
from turn_floor import taking_turns  # noqa: E402
from turn_processes import up_stack  # noqa: E402

from transbordo import eventloop  # noqa: E402

CHILD = """
import asyncio, sys, time, uuid
sys.path.insert(0, sys.argv[2])
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from bot_turn import EchoWorkflow
from transbordo import eventloop


async def main() -> None:
    client = await Client.connect(sys.argv[1])
    queue = f"bench-echo-idle-{uuid.uuid4().hex[:6]}"
    runner = UnsandboxedWorkflowRunner()
    async with Worker(client, task_queue=queue, workflows=[EchoWorkflow], workflow_runner=runner):
        echo = await client.start_workflow(EchoWorkflow.run, id=queue, task_queue=queue)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        print("ready", flush=True)
        while line := await reader.readline():
            began = time.perf_counter()
            await echo.execute_update(EchoWorkflow.echo, line.decode().strip())
            print(f"{(time.perf_counter() - began) * 1000:.4f}", flush=True)
        await echo.signal(EchoWorkflow.done)


eventloop.run(main())
"""


async def main(n: int, warmup: int) -> None:
    bench = str(Path(__file__).resolve().parent)
    async with (
        up_stack(1, 1) as (client, http, _up),
        echo_worker(client),
        load_client.posting(http, "aiohttp") as poster,
    ):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            client.service_client.config.target_host,
            bench,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        assert (await child.stdout.readline()).strip() == b"ready"
        run_id = uuid.uuid4().hex[:6]
        echo, echo_update, bot_turn = await turn_pair(client, poster, run_id, f"bench-{run_id}")
        timed_in_child: list[float] = []

        async def idle_update(i: int) -> None:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(f"{i}\n".encode())
            await child.stdin.drain()
            timed_in_child.append(float(await child.stdout.readline()))

        calls = (echo_update, idle_update, bot_turn)
        start = max(warmup, 1)  # the first turn starts the conversation
        await taking_turns(start, calls)
        timed_in_child.clear()
        series, _ = await taking_turns(n, calls, offset=start)
        series[1] = timed_in_child
        child.stdin.close()
        await child.wait()
        await echo.signal(EchoWorkflow.done)
    names = (
        "echo Update, busy process",
        "echo Update, idle process",
        "bot turn: POST .../messages",
    )
    busy, idle = p(series[0], 0.5), p(series[1], 0.5)
    print(f"shape (b): {n} rounds of three calls, shuffled\n")
    for name, times in zip(names, series, strict=True):
        median = p(times, 0.5)
        print(
            f"{row(name, times)}   ratio {median / busy:.2f} (to the idle echo {median / idle:.2f})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    eventloop.run(main(args.n, args.warmup))
