"""Benchmark, shape (b): the floor under a bot turn, measured, beside the turn itself.

    python bench/turn_floor.py [--n 300] [--warmup 30]

`turn_processes.py`'s stack (`transbordo up`: dev server, worker and API processes) and the echo
workflow's worker in this process, plus a *thin proxy*: a FastAPI app in its own uvicorn process
(uvloop and the API's own HTTP protocol, api/coalesced_http.py) whose route does nothing but an
echo's Update, and a second route that also writes two rows and a row update to a SQLite file
(WAL, in a thread) after it, as read-your-writes must; with a PostgreSQL `DATABASE_URL` (which
the stack uses too), that write is one autocommit statement on a psycopg connection on the
proxy's event loop (an UPDATE, two INSERTs and a NOTIFY joined by CTEs), as the API writes a
PostgreSQL turn (store/turn_statement.py, store/loop_statements.py). Each route drives an echo
run of its own, and the baseline another: every run takes as many Updates as the bot's
conversation (a run's Updates get dearer for the server as it takes more; until the twelfth
pass one echo run took all three calls' Updates, which made the baseline slower and the ratios
lower than they are). Four calls take turns, in an order shuffled per round, so all see the
same machine and follow each other equally often:

1. the bare echo Update (this process's Temporal client);
2. the thin proxy: HTTP + the same Update: what any HTTP API in front of an Update costs here;
3. the thin proxy with the write: what an HTTP API with read-your-writes costs, nothing else;
4. the bot turn (`POST /api/bots/{bot}/messages`): the product.

Each is printed as a ratio to (1). What (3) adds over (1) is the share of the 1.3× budget that
no code of ours can give back; (4) - (3) is all of ours (auth, limits, encryption, the flow's
step, delivery, the SQL of the real schema). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx
import load_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import ECHO_TASK_QUEUE, EchoWorkflow, echo_worker, p, row, turn_pair  # noqa: E402
from turn_processes import free_port, up_stack  # noqa: E402

from transbordo import eventloop  # noqa: E402

PROXY = """
import asyncio, os, sqlite3, threading
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel
from temporalio.client import Client

app = FastAPI()
local = threading.local()


class MessageIn(BaseModel):
    contact_id: str
    message_id: str
    text: str


PG_SETUP = (
    "CREATE TABLE IF NOT EXISTS floor_rows (id TEXT, seq INTEGER, text TEXT, at TIMESTAMPTZ,"
    " PRIMARY KEY (id, seq))",
    "CREATE TABLE IF NOT EXISTS floor_tops (id TEXT PRIMARY KEY, top INTEGER, at TIMESTAMPTZ)",
    "INSERT INTO floor_tops VALUES ('c', 0, now()) ON CONFLICT DO NOTHING",
)
PG_TURN = (
    "WITH raised AS (UPDATE floor_tops SET top = %(top)s, at = %(at)s"
    " WHERE id = 'c' AND top < %(top)s RETURNING id),"
    " entered AS (INSERT INTO floor_rows SELECT * FROM (VALUES ('c', %(seq)s, %(text)s, %(at)s),"
    " ('c', %(top)s, %(text)s, %(at)s)) AS t WHERE (SELECT count(*) FROM raised) >= 0"
    " ON CONFLICT DO NOTHING)"
    " SELECT pg_notify('floor', 'c')"
)


@app.on_event("startup")
async def connect() -> None:
    app.state.client = await Client.connect(os.environ["PROXY_TEMPORAL"])
    if os.environ.get("PROXY_POSTGRES"):
        import psycopg

        app.state.pg = await psycopg.AsyncConnection.connect(
            os.environ["PROXY_POSTGRES"], autocommit=True
        )
        for statement in PG_SETUP:
            await app.state.pg.execute(statement)
        return
    db = sqlite3.connect(os.environ["PROXY_DB"])
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS rows (id TEXT, seq INTEGER, text TEXT, at TEXT,"
               " PRIMARY KEY (id, seq))")
    db.execute("CREATE TABLE IF NOT EXISTS tops (id TEXT PRIMARY KEY, top INTEGER, at TEXT)")
    db.execute("INSERT OR IGNORE INTO tops VALUES ('c', 0, '')")
    db.commit()
    db.close()


def write(seq: int, text: str) -> None:
    db = getattr(local, "db", None)
    if db is None:
        db = local.db = sqlite3.connect(os.environ["PROXY_DB"])
        db.execute("PRAGMA synchronous=NORMAL")
    at = datetime.now(UTC).isoformat()
    db.execute("UPDATE tops SET top = ?, at = ? WHERE id = 'c' AND top < ?", (seq + 1, at, seq + 1))
    db.executemany("INSERT OR IGNORE INTO rows VALUES ('c', ?, ?, ?)",
                   [(seq, text, at), (seq + 1, text, at)])
    db.commit()


async def update(body: MessageIn, route: str) -> str:
    handle = app.state.client.get_workflow_handle(os.environ[f"PROXY_WORKFLOW_{route}"])
    return await handle.execute_update("echo", body.text)


@app.post("/update/{bot}/messages")
async def only_update(bot: str, body: MessageIn) -> dict:
    text = await update(body, "UPDATE")
    return {"conversation_id": "c", "status": "bot", "replies": [{"text": text}]}


@app.post("/written/{bot}/messages")
async def update_and_write(bot: str, body: MessageIn) -> dict:
    text = await update(body, "WRITTEN")
    seq = 2 * int(body.message_id)
    if os.environ.get("PROXY_POSTGRES"):
        at = datetime.now(UTC)
        await app.state.pg.execute(PG_TURN, {"seq": seq, "top": seq + 1, "text": text, "at": at})
    else:
        await asyncio.to_thread(write, seq, text)
    return {"conversation_id": "c", "status": "bot", "replies": [{"text": text}]}
"""


Call = Callable[[int], Awaitable[None]]


def _postgres_url() -> str:
    """The stack's PostgreSQL as a libpq URL for the proxy's write ("": the stack's SQLite)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return ""
    return "postgresql://" + url.split("://", 1)[1]


async def taking_turns(
    n: int, calls: Sequence[Call], offset: int = 0
) -> tuple[list[list[float]], list[list[int]]]:
    """`n` rounds of `calls`, one after the other in each round, in an order shuffled per
    round (seeded), so every call follows every other about equally often; each call's
    latencies (ms), and for each the call that came right before it (-1: none)."""
    series: list[list[float]] = [[] for _ in calls]
    after: list[list[int]] = [[] for _ in calls]
    previous = -1
    shuffled = random.Random(offset)
    for i in range(offset, offset + n):
        order = list(range(len(calls)))
        shuffled.shuffle(order)
        for j in order:
            began = time.perf_counter()
            await calls[j](i)
            series[j].append((time.perf_counter() - began) * 1000)
            after[j].append(previous)
            previous = j
    return series, after


async def proxy_ready(http: httpx.AsyncClient, proxy: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proxy.poll() is not None:
            raise RuntimeError(f"the thin proxy exited with {proxy.returncode}")
        try:
            await http.get("/docs")
            return
        except httpx.TransportError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the thin proxy did not answer in 60 s")


async def main(n: int, warmup: int, http_client: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="transbordo-turn-floor-"))
    (folder / "turn_floor_proxy.py").write_text(PROXY, "utf-8")
    port = free_port()
    async with (
        up_stack(1, 1, http_client=http_client) as (client, http, _up),
        echo_worker(client),
        load_client.posting(http, http_client) as poster,
    ):
        run_id = uuid.uuid4().hex[:6]
        echo, echo_update, bot_turn = await turn_pair(client, poster, run_id, f"bench-{run_id}")
        # each proxy route drives an echo run of its own: a run's Updates get dearer for the
        # server as it takes more of them (bench/README.md, twelfth pass), so every call takes
        # as many as the bot's conversation does
        proxied = {
            route: await client.start_workflow(
                EchoWorkflow.run, id=f"echo-{run_id}-{route}", task_queue=ECHO_TASK_QUEUE
            )
            for route in ("UPDATE", "WRITTEN")
        }
        env = {
            **os.environ,
            "PROXY_TEMPORAL": client.service_client.config.target_host,
            "PROXY_DB": str(folder / "proxy.db"),
            "PROXY_POSTGRES": _postgres_url(),
            "PROXY_WORKFLOW_UPDATE": proxied["UPDATE"].id,
            "PROXY_WORKFLOW_WRITTEN": proxied["WRITTEN"].id,
        }
        proxy = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "uvicorn", "turn_floor_proxy:app", "--port", str(port)]
            + ["--log-level", "warning"]
            + ["--http", "api.coalesced_http:CoalescedHttpToolsProtocol"],  # as the API's
            cwd=folder,
            env=env,
        )
        transport = load_client.transport(http_client)
        try:
            async with (
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", timeout=30, transport=transport
                ) as thin,
                load_client.posting(thin, http_client) as thin_poster,
            ):
                await proxy_ready(thin, proxy)

                def via(route: str) -> Call:
                    async def call(i: int) -> None:
                        body = {"contact_id": "c", "message_id": str(i), "text": str(i)}
                        answer = await thin_poster.post(f"/{route}/b/messages", json=body)
                        assert answer.status_code == 200, answer.text

                    return call

                calls = (echo_update, via("update"), via("written"), bot_turn)
                await taking_turns(max(warmup, 1), calls)  # the first turn starts the chat
                series, after = await taking_turns(n, calls, offset=max(warmup, 1))
        finally:
            proxy.terminate()
            try:
                proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proxy.kill()
            shutil.rmtree(folder, ignore_errors=True)
        for handle in (echo, *proxied.values()):
            await handle.signal(EchoWorkflow.done)
    names = (
        "echo: Update (the baseline)",
        "thin proxy: HTTP + Update",
        "thin proxy: HTTP + Update + write",
        "bot turn: POST .../messages",
    )
    print(f"shape (b): {n} calls of each, taking turns (task queue {ECHO_TASK_QUEUE})\n")
    base = p(series[0], 0.5)
    for name, times in zip(names, series, strict=True):
        print(f"{row(name, times)}   ratio {p(times, 0.5) / base:.2f}")
    print("\np50 ms of each call (rows) by the call right before it (columns):")
    print(f"  {'':<36}" + "".join(f"{k + 1:>8}" for k in range(len(names))))
    for j, name in enumerate(names):
        cells = []
        for k in range(len(names)):
            times = [t for t, b in zip(series[j], after[j], strict=True) if b == k]
            cells.append(f"{p(times, 0.5):8.2f}" if times else f"{'-':>8}")
        print(f"  {j + 1}. {name:<33}" + "".join(cells))
    print(
        f"\nms over the bare Update (p50): HTTP + a route {p(series[1], 0.5) - base:.2f}; "
        f"+ the write {p(series[2], 0.5) - p(series[1], 0.5):.2f}; "
        f"the product's own {p(series[3], 0.5) - p(series[2], 0.5):.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    load_client.add_option(parser)
    args = parser.parse_args()
    eventloop.run(main(args.n, args.warmup, args.client))
