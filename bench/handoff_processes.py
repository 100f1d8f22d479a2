"""Benchmark, shape (b): bench/handoff.py's full handoff conversations with real processes.

    python bench/handoff_processes.py [--conversations 100] [--concurrency 10]
                                      [--workers 1] [--api-workers 1]

`transbordo up --workers N --api-workers M` runs as a child (its own dev server, worker and API
processes; turn_processes.up_stack), with an encryption key ring this process shares, so its
Temporal client reads the conversations' histories and results. The conversations are
handoff_throughput's (bot → Humano → `next` → 4 messages → finish back to the bot → end), over
real HTTP from this process (bench/load_client.py); the baseline is the same echo
(update-with-start + 8 Updates + Signal), its worker in this process on the same dev server. CPU
is counted over this process and all its descendants, so the two sides are measured on the same
machine's worth of work: on one machine the CPU ratio is what bounds the rate ratio once both
saturate. `up`'s dev server keeps its state in SQLite, as every deployment's Temporal persists;
`--memory-server` runs one in memory (bench/handoff.py's) and gives `up` its address.
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import load_client
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import echo_worker  # noqa: E402
from handoff_http import ADMIN  # noqa: E402
from handoff_throughput import cpu_seconds, throughput  # noqa: E402
from turn_processes import up_stack  # noqa: E402

from encryption.codec import KeyRing, encrypted_converter  # noqa: E402
from transbordo import eventloop, heap  # noqa: E402
from transbordo.stack import dev_server  # noqa: E402


def process_tree(root: int) -> list[tuple[int, bytes]]:
    """`root` and its descendants: (pid, command line)."""
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        parents[int(entry.name)] = int(ppid)
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return [(pid, commands.get(pid, b"")) for pid in tree]


ROLES = ((b"start-dev", "dev server"), (b"transbordo worker", "worker"), (b"transbordo api", "API"))


def role(pid: int, command: bytes) -> str:
    """What a process of the tree is, for the CPU split."""
    if pid == os.getpid():
        return "bench (client; the echo's worker)"
    text = command.replace(b"\0", b" ")
    return next((name for marker, name in ROLES if marker in text), "up (supervisor)")


class TreeMeter:
    """CPU seconds so far of this process and its descendants, as (all but the dev server, the
    dev server) for handoff_throughput; each reading kept by role, for the split."""

    def __init__(self) -> None:
        self.readings: list[dict[str, float]] = []

    def __call__(self) -> tuple[float, float]:
        by_role: dict[str, float] = {}
        for pid, command in process_tree(os.getpid()):
            try:
                seconds = cpu_seconds(pid)
            except OSError:  # ended since the listing
                continue
            name = role(pid, command)
            by_role[name] = by_role.get(name, 0.0) + seconds
        self.readings.append(by_role)
        server = by_role.get("dev server", 0.0)
        return sum(by_role.values()) - server, server

    def print_split(self, n: int) -> None:
        """Per conversation, by role: the conversations' batches and the echo's. Each round
        took four readings: before and after the conversations, then the echo's."""
        print("   CPU per conversation by process, ms      transbordo      echo")
        for name in sorted(self.readings[0]):
            ours, echo = (self._spent(n, side, name) for side in (0, 2))
            print(f"     {name:<38} {ours:8.1f}  {echo:8.1f}")
        ours = sum(self._spent(n, 0, name) for name in self.readings[0] if "bench" not in name)
        echo = sum(self._spent(n, 2, name) for name in self.readings[0])
        print(
            f"   CPU ratio without the HTTP client (echo / transbordo) {echo / ours:.2f}:"
            f" transbordo {ours:.1f} ms (API, worker, dev server), echo {echo:.1f} ms (its"
            " Temporal client and worker, dev server)"
        )

    def _spent(self, n: int, side: int, name: str) -> float:
        """CPU ms per conversation of `name` over every round's batch of one side (0: the
        conversations, 2: the echo). The ratio without the HTTP client leaves out the bench's
        client: it stands for the customers' and agents' devices and has no counterpart in
        the echo, whose Temporal client calls are what our API's are (counted in the API)."""
        readings = self.readings
        return sum(
            (readings[r + side + 1].get(name, 0.0) - readings[r + side].get(name, 0.0)) * 1000 / n
            for r in range(0, len(readings), 4)
        )


async def main(args: argparse.Namespace) -> None:
    if not args.memory_server:
        await measure(args, {})
        return
    async with dev_server() as env:
        await measure(args, {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host})


async def measure(args: argparse.Namespace, temporal: dict[str, str]) -> None:
    ring = KeyRing.generate()
    environment = ring.as_environment() | temporal
    async with up_stack(args.workers, args.api_workers, environment, args.client) as (
        plain,
        admin_http,
        _up,
    ):
        address = plain.service_client.config.target_host
        client = await Client.connect(address, data_converter=encrypted_converter(ring))
        base = str(admin_http.base_url)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with (
            httpx.AsyncClient(
                base_url=base,
                timeout=60,
                limits=limits,
                transport=load_client.transport(args.client, limits),
                headers=ADMIN,
                event_hooks={"request": [_as_connector(admin_http)]},
            ) as http,
            echo_worker(client),
        ):
            run_id = uuid.uuid4().hex[:6]
            heap.settle_after_startup()
            server = "in-memory dev server of this process" if temporal else "up's dev server"
            print(
                f"shape (b): transbordo up --workers {args.workers} --api-workers"
                f" {args.api_workers}, {server}; load before: {os.getloadavg()[0]:.1f}\n"
            )
            meter = TreeMeter()
            await throughput(
                client,
                http,
                args.conversations,
                args.concurrency,
                run_id,
                0,
                0.0,
                meter=meter,
                parts="bench client + worker and API processes",
                rounds=args.rounds,
            )
            meter.print_split(args.conversations)


def _as_connector(admin_http: httpx.AsyncClient) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook: customer messages to a bot go with a connector credential of that bot
    (made on its first message; the in-process stack's client is such a connector)."""
    tokens: dict[str, str] = {}
    lock = asyncio.Lock()

    async def hook(request: httpx.Request) -> None:
        path = request.url.path
        if not (path.startswith("/api/bots/") and path.endswith("/messages")):
            return
        bot = path.split("/")[3]
        async with lock:
            if bot not in tokens:
                made = await admin_http.post(
                    f"/api/bots/{bot}/channel-credentials", json={"name": "bench"}, headers=ADMIN
                )
                assert made.status_code == 201, made.text
                tokens[bot] = made.json()["token"]
        request.headers["Authorization"] = f"Bearer {tokens[bot]}"

    return hook


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate this many batches of conversations and of the echo (drift cancels)",
    )
    parser.add_argument(
        "--memory-server",
        action="store_true",
        help="a dev server in memory (as bench/handoff.py's) instead of up's, kept in SQLite",
    )
    load_client.add_option(parser)
    eventloop.run(main(parser.parse_args()))
