"""Benchmark: does an Update cost more as its workflow run has taken more of them?

    python bench/update_growth.py [--blocks 8] [--block 250] [--persisted]

One echo run takes `--blocks` × `--block` Updates, one after the other; per block, the p50
latency of an Update and the dev server's CPU per Update (from /proc). In memory by default;
`--persisted` keeps the server's state in a SQLite file, as `transbordo up` does. Why it
matters: a baseline run that takes several benches' Updates gets slower than the conversation
it is compared with (bench/turn_floor.py gives each call its own run since the twelfth pass),
and a long conversation's late messages cost the server more than its first ones (the run
continues as new at `max_messages_per_run`, 1,000 by default). Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import ECHO_TASK_QUEUE, EchoWorkflow, echo_worker  # noqa: E402
from upsert_cost import server_cpu  # noqa: E402

from transbordo import eventloop  # noqa: E402
from transbordo.stack import dev_server  # noqa: E402


async def main(blocks: int, block: int, persisted: bool) -> None:
    db = Path(tempfile.mkdtemp(prefix="transbordo-growth-")) / "temporal.db" if persisted else None
    async with dev_server(db) as env, echo_worker(env.client):
        run = await env.client.start_workflow(
            EchoWorkflow.run, id=f"growth-{uuid.uuid4()}", task_queue=ECHO_TASK_QUEUE
        )
        print(f"one echo run, {'persisted (SQLite)' if persisted else 'in memory'}\n")
        for k in range(blocks):
            latencies, before = [], server_cpu()
            for i in range(block):
                began = time.perf_counter()
                await run.execute_update(EchoWorkflow.echo, str(i))
                latencies.append((time.perf_counter() - began) * 1000)
            cpu = (server_cpu() - before) / block * 1000
            print(
                f"Updates {k * block:5d}–{(k + 1) * block - 1:5d}: p50 "
                f"{statistics.median(latencies):6.2f} ms, server CPU {cpu:5.2f} ms per Update"
            )
        await run.signal(EchoWorkflow.done)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--block", type=int, default=250)
    parser.add_argument("--persisted", action="store_true")
    args = parser.parse_args()
    eventloop.run(main(args.blocks, args.block, args.persisted))
