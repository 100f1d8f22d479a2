"""Benchmark: what open SSE streams cost an API process when nothing happens, and how fast a
message reaches its stream.

    python bench/streams.py [--customers 2000] [--agents 200] [--idle 10] [--messages 200]
                            [--postgres URL] [--status]

One process runs the in-process stack of `transbordo.stack` (the Temporal dev server, the
worker, the real API behind uvicorn on a free port) and the stream clients (httpx over real
sockets). `--customers` conversations are put in the log (as the API's first write does) and
each gets a customer stream; `--agents` agents of one service each open the agent stream.

- idle CPU: the process's CPU time (user + system, all threads: `resource.getrusage`) over
  `--idle` seconds with every stream open, minus the same with none open (the worker, the
  Temporal client and uvicorn idle too). The clients share the process: their part (parsing a
  keep-alive comment per stream every 15 s) is counted in, so the figure is an upper bound.
- `--status`: the customer streams ask `?status=true`, as the web chat's do (each wake reads
  where the conversation stands with the log: store/standing.py).
- delivery: `--messages` messages written to the log of as many conversations (paced, as a
  worker's record would), each timed from the moment its write returned to its arrival on its
  stream; then real turns over HTTP, timed from the 200 to the customer's message on the stream.

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import BOT, FLOW  # noqa: E402  (the same looping menu bot)

from omni.models import AgentCreate, ServiceCreate  # noqa: E402
from store import conversations as conversation_log  # noqa: E402
from store.agents import create_agent  # noqa: E402
from store.db import open_database  # noqa: E402
from store.services import create_service  # noqa: E402
from transbordo.settings import UNLIMITED_RATES, Settings  # noqa: E402
from transbordo.stack import Stack, dev_server, pydantic_client, running, stack_ring  # noqa: E402
from workflows.contracts import Message  # noqa: E402

OPEN_CONCURRENCY = 100
"""Streams being opened at once (the rest wait their turn)."""


class Arrivals:
    """When each (conversation, seq) reached its stream, and which streams are connected."""

    def __init__(self) -> None:
        self.at: dict[tuple[str, int], float] = {}
        self.connected = 0
        self.failed: list[str] = []
        self.waiters: dict[tuple[str, int], asyncio.Future[float]] = {}

    def arrived(self, conversation_id: str, seq: int) -> None:
        now = time.perf_counter()
        self.at[(conversation_id, seq)] = now
        waiter = self.waiters.pop((conversation_id, seq), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)

    def wait_for(self, conversation_id: str, seq: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if (conversation_id, seq) in self.at:
            future.set_result(self.at[(conversation_id, seq)])
        else:
            self.waiters[(conversation_id, seq)] = future
        return future


async def follow(
    http: httpx.AsyncClient,
    path: str,
    token: str,
    arrivals: Arrivals,
    gate: asyncio.Semaphore,
    on_data: Callable[[str, str], None],
) -> None:
    """Hold one stream open; `on_data(id, data)` for every event with data."""
    headers = {"Authorization": f"Bearer {token}"}
    await gate.acquire()
    released = False
    try:
        async with http.stream("GET", path, headers=headers) as response:
            if response.status_code != 200:
                arrivals.failed.append(f"{path}: {response.status_code}")
                return
            arrivals.connected += 1
            gate.release()
            released = True
            event_id, data = "", ""
            async for line in response.aiter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and data:
                    on_data(event_id, data)
                    event_id, data = "", ""
    except (httpx.HTTPError, OSError) as exc:
        arrivals.failed.append(f"{path}: {exc!r}")
    finally:
        if not released:
            gate.release()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def idle_cpu(seconds: float) -> float:
    """Share of one core the process used over `seconds` of doing nothing."""
    start_cpu, start = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (cpu_seconds() - start_cpu) / (time.perf_counter() - start)


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"
    )


def seed(stack: Stack, customers: int, agents: int) -> tuple[list[str], list[str]]:
    """Conversations in the log (as the API's first write leaves them) and agents' tokens."""
    conversations = []
    for _ in range(customers):
        conversation_id = uuid.uuid4().hex
        conversation_log.ensure_conversation(
            stack.engine,
            conversation_id=conversation_id,
            workflow_id=f"conversation:{BOT}:{conversation_id}",
            bot=BOT,
            bot_version=1,
            contact_id=f"bench-{conversation_id[:12]}",
            status="bot",
        )
        conversations.append(conversation_id)
    service = f"Bench {uuid.uuid4().hex[:6]}"  # a reused PostgreSQL database keeps the last run's
    create_service(stack.engine, ServiceCreate(name=service), stack_ring())
    tokens = [
        create_agent(stack.engine, AgentCreate(name=f"{service} {n}", services=[service])).token
        for n in range(agents)
    ]
    return conversations, tokens


async def open_streams(
    stack: Stack,
    http: httpx.AsyncClient,
    conversations: list[str],
    agent_tokens: list[str],
    arrivals: Arrivals,
    query: str = "",
) -> list[asyncio.Task[None]]:
    connector = stack.http.auth.token(BOT)  # type: ignore[union-attr]
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    tasks = []
    for conversation_id in conversations:

        def seen(event_id: str, _data: str, conversation_id: str = conversation_id) -> None:
            if event_id:
                arrivals.arrived(conversation_id, int(event_id))

        path = f"/api/conversations/{conversation_id}/stream{query}"
        tasks.append(asyncio.create_task(follow(http, path, connector, arrivals, gate, seen)))
    for token in agent_tokens:
        path = "/api/agent/stream"
        tasks.append(
            asyncio.create_task(follow(http, path, token, arrivals, gate, lambda _i, _d: None))
        )
    started = time.perf_counter()
    while arrivals.connected + len(arrivals.failed) < len(tasks):
        await asyncio.sleep(0.1)
        if time.perf_counter() - started > 300:
            break
    print(
        f"streams open: {arrivals.connected} of {len(tasks)} in "
        f"{time.perf_counter() - started:.1f} s; failed {len(arrivals.failed)}"
        + (f" (first: {arrivals.failed[0]})" if arrivals.failed else "")
    )
    return tasks


async def log_latency(
    stack: Stack, conversations: list[str], arrivals: Arrivals, count: int, rate: float
) -> list[float]:
    """A message written to each of `count` conversations' logs, `rate` a second."""
    latencies: list[float] = []
    waits: list[Awaitable[float]] = []
    written: list[float] = []
    for conversation_id in conversations[:count]:
        message = Message(seq=1, sender="bot", text="olá", at=datetime.now(UTC))
        waits.append(arrivals.wait_for(conversation_id, 1))
        await asyncio.to_thread(
            conversation_log.record_turn, stack.engine, conversation_id, [message]
        )
        written.append(time.perf_counter())
        await asyncio.sleep(1 / rate)
    async with asyncio.timeout(60):
        for at, wait in zip(written, waits, strict=True):
            latencies.append(await wait - at)
    return latencies


async def turn_latency(  # type: ignore[no-untyped-def]
    stack: Stack, http: httpx.AsyncClient, arrivals: Arrivals, count: int, query: str = ""
):
    """Real turns over HTTP: from the 200 to the customer's message on its stream."""
    latencies = []
    connector = stack.http.auth.token(BOT)  # type: ignore[union-attr]
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    tasks = []
    for n in range(count):
        contact = f"bench-turn-{n}-{uuid.uuid4().hex[:6]}"
        body = {"contact_id": contact, "message_id": "m1", "text": "oi"}
        first = (await stack.http.post(f"/api/bots/{BOT}/messages", json=body)).json()
        conversation_id = first["conversation_id"]

        def seen(event_id: str, _data: str, conversation_id: str = conversation_id) -> None:
            if event_id:
                arrivals.arrived(conversation_id, int(event_id))

        path = f"/api/conversations/{conversation_id}/stream{query}"
        tasks.append(asyncio.create_task(follow(http, path, connector, arrivals, gate, seen)))
        await arrivals.wait_for(conversation_id, 2)  # the first turn reached the stream
        waiting = arrivals.wait_for(conversation_id, 3)  # the next customer message
        body = {"contact_id": contact, "message_id": "m2", "text": "1"}
        answered = await stack.http.post(f"/api/bots/{BOT}/messages", json=body)
        assert answered.status_code == 200, answered.text
        at = time.perf_counter()
        async with asyncio.timeout(30):
            latencies.append(await waiting - at)
    for task in tasks:
        task.cancel()
    return latencies


async def main(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    settings = Settings(
        data_dir=data,
        task_queue="bench-streams",
        flows_dir=data / "no-flows",
        max_streams_per_address=100_000,
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    engine = open_database(args.postgres or settings.effective_database_url)
    query = "?status=true" if args.status else ""
    print(
        f"database: {engine.dialect.name}; file limit {hard}; customer streams {query or 'plain'}"
    )
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            async with running(
                client, settings, engine, flows=[FLOW], served=True, leave="none"
            ) as stack:
                conversations, tokens = seed(stack, args.customers, args.agents)
                await asyncio.sleep(2)
                baseline = await idle_cpu(args.idle)
                print(f"idle CPU, no streams: {baseline * 100:.1f}% of a core")
                limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
                timeout = httpx.Timeout(60, read=None)
                async with httpx.AsyncClient(
                    base_url=stack.base_url, limits=limits, timeout=timeout
                ) as http:
                    arrivals = Arrivals()
                    tasks = await open_streams(stack, http, conversations, tokens, arrivals, query)
                    hub = stack.app.state.stream_hub
                    print(f"hub.open_streams = {hub.open_streams}")
                    await asyncio.sleep(3)  # the streams' first reads settle
                    loaded = await idle_cpu(args.idle)
                    print(
                        f"idle CPU, {arrivals.connected} streams: {loaded * 100:.1f}% of a core"
                        f" -> streams cost {(loaded - baseline) * 100:.1f}% of a core"
                    )
                    logged = await log_latency(
                        stack, conversations, arrivals, args.messages, args.rate
                    )
                    print(f"log write -> stream ({args.rate:g}/s): {percentiles(logged)}")
                    turns = await turn_latency(stack, http, arrivals, args.turns, query)
                    print(f"HTTP 200 -> customer message on its stream: {percentiles(turns)}")
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of each idle window")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="log writes per second")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a fresh SQLite file")
    parser.add_argument(
        "--status", action="store_true", help="customer streams with ?status=true (the web chat's)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
