"""Benchmark, shape (b): the bot turn and the first message with real processes, against a
bare Temporal Update and update-with-start.

    python bench/turn_processes.py [--n 200] [--workers 1] [--api-workers 1] [--lanes 1]

`transbordo up --workers N --api-workers M` runs as a child (its own dev server kept in a
temporary data folder, worker and API processes) on free ports; this process publishes the
menu bot of `bot_turn.py`, asks for a connector credential, runs the echo workflow's worker on
the same dev server, and alternates a bot turn over HTTP with an echo Update (so both series see
the same machine), then a conversation's first message (a new contact each) with an echo
update-with-start of a new workflow. With `--lanes K`, K contacts do so at once (the turn only):
the same ratio with every process busy. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
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
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import (
    BOT,
    FLOW,
    EchoWorkflow,
    alternating,
    echo_worker,
    first_messages,
    p,
    row,
    turn_pair,
)  # noqa: E402

from transbordo import eventloop  # noqa: E402

ADMIN = "bench-admin-token-0123456789abcdefgh"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def up_stack(
    workers: int,
    api_workers: int,
    extra_env: dict[str, str] | None = None,
    http_client: str = "aiohttp",
) -> AsyncIterator[tuple[Client, httpx.AsyncClient, subprocess.Popen[bytes]]]:
    """`transbordo up` as a child with the menu bot published; yields a Temporal client to its
    dev server, an HTTP client holding a connector credential (`http_client`: load_client's),
    and the child."""
    data = Path(tempfile.mkdtemp(prefix="transbordo-shape-b-"))
    (data / "flows").mkdir()
    (data / "flows" / f"{BOT}.yaml").write_text(FLOW, "utf-8")
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {**os.environ, "TRANSBORDO_RATE_LIMIT_MESSAGES_PER_CONTACT": "100000/minute"}
    env |= {
        "TRANSBORDO_RATE_LIMIT_MESSAGES_PER_ADDRESS": "100000/minute",
        "TRANSBORDO_RATE_LIMIT_PER_ADDRESS": "100000/minute",
        "TRANSBORDO_RATE_LIMIT_MESSAGES_PER_BOT": "100000/minute",
        "TRANSBORDO_REPLY_TIMEOUT_SECONDS": "30",  # under load, replies rather than 202s
    }
    env |= extra_env or {}
    up = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "transbordo",
            "up",
            "--data-dir",
            str(data / "data"),
            "--port",
            str(api_port),
            "--temporal-port",
            str(temporal_port),
            "--ui-port",
            str(ui_port),
            "--admin-token",
            ADMIN,
            "--flows",
            str(data / "flows"),
            "--no-demo",
            "--workers",
            str(workers),
            "--api-workers",
            str(api_workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{api_port}"
        transport = load_client.transport(http_client)
        async with httpx.AsyncClient(base_url=base, timeout=30, transport=transport) as http:
            await _ready(http)
            admin = {"Authorization": f"Bearer {ADMIN}"}
            made = await http.post(
                f"/api/bots/{BOT}/channel-credentials", json={"name": "bench"}, headers=admin
            )
            assert made.status_code == 201, made.text
            http.headers["Authorization"] = f"Bearer {made.json()['token']}"
            # a TEMPORAL_ADDRESS given: `up` starts no dev server and uses that one
            address = env.get("TEMPORAL_ADDRESS", f"127.0.0.1:{temporal_port}")
            client = await Client.connect(address)
            yield client, http, up
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
        shutil.rmtree(data, ignore_errors=True)


async def main(
    n: int, warmup: int, workers: int, api_workers: int, http_client: str, lanes: int
) -> None:
    async with (
        up_stack(workers, api_workers, http_client=http_client) as (client, http, _up),
        echo_worker(client),
        load_client.posting(http, http_client) as poster,
    ):
        if lanes > 1:
            await under_load(n, warmup, client, poster, lanes)
            return
        await measure(n, warmup, client, poster)


async def under_load(
    n: int, warmup: int, client: Client, http: load_client.Poster, lanes: int
) -> None:
    """`lanes` contacts at once, each alternating its own echo run's Update with its own
    conversation's turn (`n // lanes` of each per lane): both series under the same load, every
    process busy (a contact center's steady traffic) instead of waiting between single calls."""
    run_id = uuid.uuid4().hex[:6]
    pairs = [
        await turn_pair(client, http, f"{run_id}-{k}", f"bench-{run_id}-{k}") for k in range(lanes)
    ]
    per_lane = max(n // lanes, 1)
    warmup = max(warmup, 1)  # the first message starts each conversation
    await asyncio.gather(*(alternating(warmup, echo_update, bot) for _, echo_update, bot in pairs))
    began = time.perf_counter()
    timed = await asyncio.gather(
        *(
            alternating(
                per_lane, lambda i, e=echo_update: e(warmup + i), lambda i, b=bot: b(warmup + i)
            )
            for _, echo_update, bot in pairs
        )
    )
    elapsed = time.perf_counter() - began
    echo_times = [t for times, _ in timed for t in times]
    turn_times = [t for _, times in timed for t in times]
    print(f"shape (b), {lanes} lanes at once: {per_lane} alternating calls each per lane\n")
    print_turns(echo_times, turn_times, f"   ({len(turn_times) / elapsed:.0f} pairs/s)")
    for echo, _, _ in pairs:
        await echo.signal(EchoWorkflow.done)


async def _ready(http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if (await http.get(f"/api/bots/{BOT}")).status_code in (200, 401):
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("transbordo up did not answer in 120 s")


def print_turns(echo_times: list[float], turn_times: list[float], extra: str = "") -> None:
    print(row("echo: Update", echo_times))
    print(row("bot turn: POST .../messages", turn_times))
    print(
        f"{'turn ratio (p50; p99)':<38} {p(turn_times, 0.5) / p(echo_times, 0.5):.2f};"
        f" {p(turn_times, 0.99) / p(echo_times, 0.99):.2f}{extra}"
    )


def by_fifths(baseline: list[float], measured: list[float]) -> str:
    """The p50 ratio over each fifth of an alternating run, in order: how much of a run's ratio
    is the machine's moment (the spread) and whether it drifts as the runs grow."""
    size = max(len(measured) // 5, 1)
    ratios = [
        p(measured[k : k + size], 0.5) / p(baseline[k : k + size], 0.5)
        for k in range(0, size * 5, size)
        if measured[k : k + size]
    ]
    return " ".join(f"{r:.2f}" for r in ratios)


async def measure(n: int, warmup: int, client: Client, http: load_client.Poster) -> None:
    run_id = uuid.uuid4().hex[:6]
    contact = f"bench-{run_id}"
    echo, echo_update, bot_turn = await turn_pair(client, http, run_id, contact)

    echo_start, bot_first = first_messages(client, http, run_id, contact)

    await alternating(warmup, echo_update, bot_turn)
    echo_times, turn_times = await alternating(n, echo_update, lambda i: bot_turn(warmup + i))
    await alternating(warmup, echo_start, bot_first)
    starts, firsts = await alternating(
        n, lambda i: echo_start(warmup + i), lambda i: bot_first(warmup + i)
    )
    print(f"shape (b): {n} alternating calls each\n")
    print_turns(echo_times, turn_times)
    print(f"{'  by fifth of the run (p50)':<38} {by_fifths(echo_times, turn_times)}")
    print(row("echo: update-with-start, new wf", starts))
    print(row("bot first message: POST .../messages", firsts))
    print(
        f"{'first-message ratio (p50; p99)':<38} {p(firsts, 0.5) / p(starts, 0.5):.2f};"
        f" {p(firsts, 0.99) / p(starts, 0.99):.2f}"
    )
    await echo.signal(EchoWorkflow.done)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--lanes", type=int, default=1, help="contacts at once (turns only)")
    load_client.add_option(parser)
    args = parser.parse_args()
    eventloop.run(
        main(args.n, args.warmup, args.workers, args.api_workers, args.client, args.lanes)
    )
