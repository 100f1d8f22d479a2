"""Benchmark: a simulated contact-center day through automatic assignment, against Erlang C / A.

    python bench/contact_center.py [--agents 4] [--handle 2.0] [--load 0.7] [--customers 400]
                                   [--answer-time 1] [--abandon-seconds 0] [--seed 7]
                                   [--postgres URL] [--profile]

The in-process stack of `transbordo.stack` (Temporal dev server, one worker, the API behind
uvicorn, real HTTP, a SQLite file or `--postgres`). One service with `assignment: auto`, N
agents of capacity 1, a bot whose flow starts at the Humano block (one message queues).

- Customers arrive as a Poisson stream of rate λ = load · N / handle (each sends one message).
- Each agent holds its agent stream (`GET /api/agent/stream`) open; when an `offers` event
  brings a new offer it accepts it (`POST /api/agent/offers/{id}/accept`), "handles" the
  conversation for an exponential time of mean `--handle` seconds, then finishes it.
- Time is compressed: a handle time of seconds stands for minutes (bench/README.md: which).

Measured from the queue rows: average speed of answer (enqueue → pickup over every arrival; an
abandoned one counts its time in line) and service level (answered within `--answer-time`),
beside **Erlang C**, or **Erlang A** with `--abandon-seconds` (exponential patience of that mean;
the product's deadline is fixed: see the README), for the configured and for the drawn λ and
handle (with the sampling noise of such a day), and **ideal routing on the same sample path**
(bench/mmc.py: the same arrivals and handle times, FCFS, no routing delay; no sampling noise).

Assignment latency: an agent's `finish` returns while customers wait → the next offer on that
agent's stream (p50/p99); the offer's creation → on the stream; `--profile`: bench/cc_profile.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from handoff_http import ADMIN, expect
from mmc import ideal, sampling_noise

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cc_profile  # noqa: E402

from omni.staffing import Workload, outlook  # noqa: E402
from store.db import open_database  # noqa: E402
from store.tables import offers, queue_entries, services  # noqa: E402
from transbordo.settings import UNLIMITED_RATES, Settings  # noqa: E402
from transbordo.stack import dev_server, pydantic_client, running  # noqa: E402

TASK_QUEUE = "bench-contact-center"
STALL_SECONDS = SHUTDOWN_SECONDS = 60
"""Nothing moved for this long: the bench prints what holds the day (or its shutdown) up."""
NO_ABANDON = 86400  # "off": a deadline no customer of the run reaches


def flow(bot: str, key: str, service: str) -> str:
    return f"""
bot: {bot}
human_service: {{platform: omni_v2, omni_key: "{key}", wait_time_notice: never}}
start: humano
blocks:
  humano:
    type: human
    service: {service}
    text: Vou te transferir para um especialista.
    on: {{finished: fim, closed: fim, abandoned: fim, unavailable: fim, no_agents: fim}}
  fim: {{type: end, text: Até logo!}}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Agent:  # one agent: its stream, accepting each new offer, handling, finishing
    def __init__(self, http: httpx.AsyncClient, auth: dict[str, str], rng: random.Random,
                 handle: float, shared: Shared) -> None:  # fmt: skip
        self.http, self.auth, self.rng, self.handle, self.shared = http, auth, rng, handle, shared
        self.seen: set[str] = set()
        self.finished_at: float | None = None  # monotonic: the last finish's 200
        self.finished_wall, self.finishing, self.early = 0.0, False, False
        self.work: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def listen(self) -> None:
        """Hold the agent stream; reconnect when it ends, as the screen's EventSource does
        (each end is counted and reported: an agent deaf to its offers would stall the day)."""
        while True:
            try:
                await self._listen_once()
                self.shared.stream_ends.append("ended by the server")
            except (httpx.HTTPError, RuntimeError) as exc:
                self.shared.stream_ends.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(0.1)

    async def _listen_once(self) -> None:
        async with self.http.stream(
            "GET", "/api/agent/stream", headers=self.auth, timeout=None
        ) as response:
            if response.status_code != 200:
                raise RuntimeError(f"agent stream: {response.status_code}")
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "offers":
                    now = time.monotonic()
                    for offer in json.loads(line[5:]):
                        if offer["id"] not in self.seen:
                            self.seen.add(offer["id"])
                            self.shared.seen_at[offer["id"]] = (time.time(), now)
                            if self.finishing:  # on the stream before the finish's 200
                                self.early = True
                                self.shared.after_finish.append((offer["entry_id"], time.time(), 0))
                            elif self.finished_at is not None:
                                self.shared.after_finish.append(
                                    (offer["entry_id"], self.finished_wall, now - self.finished_at)
                                )
                            self.finished_at = None
                            await self.work.put(offer)

    async def serve(self) -> None:
        while True:
            offer = await self.work.get()
            try:
                await self._serve_one(offer)
            except httpx.HTTPError as exc:  # reported, never a silently dead agent
                self.shared.errors.append(f"{type(exc).__name__}: {exc}")

    async def _serve_one(self, offer: dict[str, Any]) -> None:
        began = time.monotonic()
        try:
            answer = await self.http.post(
                f"/api/agent/offers/{offer['id']}/accept", headers=self.auth
            )
            code = answer.status_code
        except httpx.HTTPError as exc:  # the pickup may still have happened: finish below
            self.shared.errors.append(f"accept {type(exc).__name__}: {exc}")
            code = 0
        self.shared.accepts.append(time.monotonic() - began)
        if code in (404, 409):
            self.shared.refused += 1
            return
        if code != 200:
            self.shared.errors.append(f"accept {code}")
        await asyncio.sleep(self.rng.expovariate(1 / self.handle))
        url = f"/api/agent/conversations/{offer['conversation_id']}/finish"
        self.finishing, self.early = True, False
        for _ in range(5):  # the agent clicks again if the finish failed
            done = await self.http.post(url, json={"return_to_bot": True}, headers=self.auth)
            if done.status_code == 200 or code != 200 and done.status_code in (403, 409):
                break  # (after a failed accept: finished, or it was never ours)
            self.shared.errors.append(f"finish {done.status_code}: {done.text[:200]}")
            await asyncio.sleep(1)
        self.finishing = False
        if not self.early:  # (else its next offer is already in: counted as 0)
            self.finished_at, self.finished_wall = time.monotonic(), time.time()


class Shared:  # what the agents saw
    def __init__(self) -> None:
        self.seen_at: dict[str, tuple[float, float]] = {}
        self.after_finish: list[tuple[str, float, float]] = []  # entry, finish 200, to offer
        self.refused = 0
        self.accepts: list[float] = []
        self.stream_ends: list[str] = []
        self.errors: list[str] = []


async def day(args: argparse.Namespace, http: httpx.AsyncClient, engine: sa.Engine) -> None:
    run = uuid.uuid4().hex[:6]
    bot, service = f"cc-{run}", f"Central-{run}"
    abandon = args.abandon_seconds or NO_ABANDON
    body = {"name": service, "abandon_seconds": abandon, "answer_time_seconds": args.answer_time,
            "assignment": "auto", "offer_seconds": 600}  # fmt: skip
    await expect(http.post("/api/omni/services", json=body, headers=ADMIN), 201)
    made = await expect(
        http.post("/api/omni/integrations", json={"service": service, "bot": bot}, headers=ADMIN),
        201,
    )
    published = await http.put(
        f"/api/bots/{bot}",
        content=flow(bot, made["api_key"], service),
        headers={**ADMIN, "Content-Type": "text/yaml"},
    )
    assert published.status_code in (200, 201), published.text
    rng = random.Random(args.seed)
    shared = Shared()
    agents = []
    for i in range(args.agents):
        agent = await expect(
            http.post("/api/omni/agents", headers=ADMIN,
                      json={"name": f"{service}-{i}", "services": [service], "capacity": 1}),
            201,
        )  # fmt: skip
        auth = {"Authorization": f"Bearer {agent['token']}"}
        await expect(http.post("/api/agent/status", json={"status": "available"}, headers=auth))
        agents.append(Agent(http, auth, random.Random(rng.random()), args.handle, shared))
    tasks = [asyncio.create_task(a.listen()) for a in agents]
    tasks += [asyncio.create_task(a.serve()) for a in agents]

    rate = args.load * args.agents / args.handle
    gaps = [rng.expovariate(rate) for _ in range(args.customers)]
    print(f"{args.customers} customers at {rate:.3f}/s ({args.agents} agents, handle "
          f"{args.handle} s, load {args.load}); ~{sum(gaps):.0f} s", flush=True)  # fmt: skip
    with engine.connect() as conn:
        service_id = conn.scalar(sa.select(services.c.id).where(services.c.name == service))

    sends: list[asyncio.Task[Any]] = []
    started = time.monotonic()
    due = 0.0
    for i, gap in enumerate(gaps):
        due += gap
        await asyncio.sleep(max(0.0, started + due - time.monotonic()))
        message = {"contact_id": f"{run}-{i}", "message_id": f"{run}-{i}-1", "text": "oi"}
        sends.append(asyncio.create_task(http.post(f"/api/bots/{bot}/messages", json=message)))
    answers = await asyncio.gather(*sends)
    codes = [a.status_code for a in answers]
    progress, since = None, time.monotonic()
    while True:  # until every arrival is answered or gone
        with engine.connect() as conn:
            counts: dict[str, int] = dict(conn.execute(
                sa.select(queue_entries.c.status, sa.func.count())
                .where(queue_entries.c.service_id == service_id)
                .group_by(queue_entries.c.status)).all())  # fmt: skip
        open_rows = counts.get("waiting", 0) + counts.get("in_service", 0)
        if sum(counts.values()) >= args.customers and not open_rows:
            break
        if counts != progress:
            progress, since = counts, time.monotonic()
        elif time.monotonic() - since > STALL_SECONDS:
            stalled(engine, service_id, shared, tasks)
            since = time.monotonic()
        await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    report(args, engine, service_id, shared, rate, codes, time.monotonic() - started)
    if args.profile:
        cc_profile.report(args.profile)
    sys.stdout.flush()


def stalled(engine: sa.Engine, service_id: str, shared: Shared, tasks: list[Any]) -> None:
    """Nothing moved for STALL_SECONDS: say what SQL and the simulated agents hold."""
    with engine.connect() as conn:
        stuck = conn.execute(
            sa.select(queue_entries.c.id, queue_entries.c.status, offers.c.agent_id,
                      offers.c.created_at)  # the open offer of each open entry, if any
            .outerjoin(offers, (offers.c.entry_id == queue_entries.c.id) & (offers.c.status
                                                                             == "open"))
            .where(queue_entries.c.service_id == service_id,
                   queue_entries.c.status.in_(("waiting", "in_service")))).all()  # fmt: skip
    dead = [t.exception() for t in tasks if t.done() and not t.cancelled()]
    print(f"STALLED {STALL_SECONDS} s: {[tuple(r) for r in stuck]}; tasks ended {dead}; stream"
          f" ends {shared.stream_ends}; errors {shared.errors[-5:]}", flush=True)  # fmt: skip


def report(args: argparse.Namespace, engine: sa.Engine, service_id: str, shared: Shared,
           rate: float, codes: list[int], wall: float) -> None:  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(queue_entries.c.id, queue_entries.c.status, queue_entries.c.enqueued_at,
                      queue_entries.c.picked_up_at, queue_entries.c.ended_at)
            .where(queue_entries.c.service_id == service_id)
            .order_by(queue_entries.c.enqueued_at)
        ).all()  # fmt: skip
        made = dict(conn.execute(
            sa.select(offers.c.id, offers.c.created_at).join(
                queue_entries, queue_entries.c.id == offers.c.entry_id)
            .where(queue_entries.c.service_id == service_id)).all())  # fmt: skip
    t0 = aware(rows[0].enqueued_at)
    arrivals = [(aware(r.enqueued_at) - t0).total_seconds() for r in rows]
    handles = [
        (aware(r.ended_at) - aware(r.picked_up_at)).total_seconds() if r.picked_up_at else None
        for r in rows
    ]
    waits = [
        (aware(r.picked_up_at or r.ended_at) - aware(r.enqueued_at)).total_seconds() for r in rows
    ]
    answered = [r.picked_up_at is not None for r in rows]
    abandoned = sum(r.status == "abandoned" for r in rows)
    n = len(rows)
    T = args.answer_time
    patience = float(args.abandon_seconds) if args.abandon_seconds else None
    measured_rate = (n - 1) / arrivals[-1]
    handled = [h for h in handles if h is not None]
    measured_handle = sum(handled) / len(handled)
    ideal_waits = ideal(arrivals, handles, args.agents, patience)
    ideal_ok = [w <= T and (patience is None or w < patience) for w in ideal_waits]

    def line(name: str, asa: float, sl: float, ab: float) -> None:
        print(f"  {name:44s} {asa:8.3f} s   {100 * sl:6.1f} %   {100 * ab:5.1f} %")

    model = "Erlang A" if patience else "Erlang C"
    http = {c: codes.count(c) for c in set(codes)}
    print(f"\n{n} arrivals in {arrivals[-1]:.0f} s ({wall:.0f} s in all); HTTP {http}; "
          f"{shared.refused} accepts refused; agent streams reconnected "
          f"{len(shared.stream_ends)}; agent request errors {len(shared.errors)}")  # fmt: skip
    print(f"drawn: λ {measured_rate:.3f}/s (configured {rate:.3f}), mean handle "
          f"{measured_handle:.3f} s (configured {args.handle}), answer time {T} s")  # fmt: skip
    print(f"  {'':44s} {'ASA':>10s}   {'SLA':>8s}   {'aband.':>7s}")
    configured = outlook(args.agents, Workload(rate, args.handle, patience), T)
    drawn = outlook(args.agents, Workload(measured_rate, measured_handle, patience), T)
    line(f"{model}, configured λ and handle", configured.average_speed_of_answer,
         configured.service_level, configured.abandon_rate)  # fmt: skip
    line(f"{model}, the λ and handle drawn", drawn.average_speed_of_answer,
         drawn.service_level, drawn.abandon_rate)  # fmt: skip
    line("ideal routing, same sample path", sum(ideal_waits) / n, sum(ideal_ok) / n,
         sum(patience is not None and w >= patience for w in ideal_waits) / n)  # fmt: skip
    ok = sum(a and w <= T for a, w in zip(answered, waits, strict=True))
    line("measured (auto assignment)", sum(waits) / n, ok / n, abandoned / n)
    asa_ideal = sum(ideal_waits) / n
    print(f"  measured / ideal ASA {sum(waits) / n / asa_ideal:.3f} · measured / {model} "
          f"(configured) {sum(waits) / n / configured.average_speed_of_answer:.3f} · "
          f"(drawn) {sum(waits) / n / drawn.average_speed_of_answer:.3f}")  # fmt: skip
    if patience is None:  # what sampling alone does to one day of n customers
        sd_asa, sd_sla = sampling_noise(args.agents, rate, args.handle, n, T)
        asa_c, sla_c = configured.average_speed_of_answer, configured.service_level
        print(f"  sampling noise of one such day (200 simulated): ASA sd {sd_asa:.3f} s "
              f"({sd_asa / asa_c:.0%} of Erlang C), SLA sd {100 * sd_sla:.1f} points\n"
              f"  the routing at Erlang C's level (Erlang C × measured / ideal): ASA "
              f"{asa_c * sum(waits) / n / asa_ideal:.3f} s, SLA (Erlang C + measured − ideal) "
              f"{100 * (sla_c + (ok - sum(ideal_ok)) / n):.1f} %")  # fmt: skip
    waits_answered = [w for w, a in zip(waits, answered, strict=True) if a]
    print(f"  pickup wait of the answered: p50 {pct(waits_answered, 0.5) * 1000:.0f} ms, "
          f"p99 {pct(waits_answered, 0.99) * 1000:.0f} ms")  # fmt: skip
    visible = [
        shared.seen_at[o][0] - aware(made[o]).timestamp() for o in shared.seen_at if o in made
    ]
    enqueued = {r.id: aware(r.enqueued_at).timestamp() for r in rows}
    after = [late for entry, freed, late in shared.after_finish if enqueued[entry] < freed]
    print(f"assignment latency, finish 200 (customers waiting) → next offer on the agent's "
          f"stream: p50 {pct(after, 0.5) * 1000:.0f} ms, p99 {pct(after, 0.99) * 1000:.0f} ms "
          f"(n={len(after)})")  # fmt: skip
    print(f"accept (POST .../accept, the pickup): p50 {pct(shared.accepts, 0.5) * 1000:.0f} ms, "
          f"p99 {pct(shared.accepts, 0.99) * 1000:.0f} ms")  # fmt: skip
    print(f"offer made (SQL created_at) → on the agent's stream: p50 {pct(visible, 0.5) * 1000:.0f}"
          f" ms, p99 {pct(visible, 0.99) * 1000:.0f} ms (n={len(visible)})")  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    args.profile = args.profile and cc_profile.instrument()
    data = Path(tempfile.mkdtemp(prefix="transbordo-cc-"))
    engine = open_database(args.postgres or f"sqlite:///{data / 'bench.db'}")
    print(f"database: {engine.dialect.name}", flush=True)
    settings = Settings(
        data_dir=data, task_queue=TASK_QUEUE, flows_dir=data / "none",
        admin_token="bench-admin-token-0123456789abcdefgh", reply_timeout_seconds=30,
        max_streams_per_address=1000,  # every customer's stream comes from 127.0.0.1
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )  # fmt: skip
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            async with running(
                client, settings, engine, served=True, leave="none", executor_workers=32,
                http_timeout=60,
                http_limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
            ) as stack:  # fmt: skip
                await day(args, stack.http, engine)
                print("shutting down", flush=True)  # a stuck shutdown dumps every thread
                faulthandler.dump_traceback_later(SHUTDOWN_SECONDS, exit=True)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--handle", type=float, default=2.0, help="mean handle time, seconds")
    parser.add_argument("--load", type=float, default=0.7, help="λ·handle / agents")
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--answer-time", type=int, default=1, help="the SLA's answer time, s")
    parser.add_argument("--abandon-seconds", type=int, default=0, help="0: nobody abandons")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="time the accept's steps")
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a fresh SQLite file")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)  # the SDK can crash at interpreter exit (sdk-python#300)
