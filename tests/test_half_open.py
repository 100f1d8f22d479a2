"""A screen whose network vanished (a laptop lid closed, Wi-Fi lost: the peer silently gone, a
"half-open" connection) loses its stream once the server's writes to it stay unacknowledged for
`tcp_user_timeout_seconds` (api/coalesced_http.py), not after the ~15 minutes Linux retransmits
by default: its agent no longer counts as seen and its stream place is given back.

A real network: the API (uvicorn with our protocol) listens on one end of a veth pair; the
screen is a client process in a network namespace at the other end. Its link is then set down:
nothing tells the server the peer is gone, its writes just go unanswered. Needs root (with
CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2 (CI runs as root and installs it): without them
the test fails, it does not skip (README.md, "Test it", says how to deselect it).

Parallel and killed runs: every name carries the creating process's pid (`tbho<pid>n0` the
namespace, `tbho<pid>a0`/`b0` the veth ends); a run first removes what runs whose pid is dead
left behind, and removes only what it made itself. The /30 comes from the benchmarking range
198.18.0.0/15 (RFC 2544), picked and assigned under a lock file, so concurrent runs never share
one.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import itertools
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.coalesced_http import CoalescedHttpToolsProtocol
from api.presence import presence_of
from tests.conftest import api_client, pydantic_client
from tests.live import DEADLINE_SECONDS, POLL_SECONDS, eventually
from tests.test_handoff import setup_omni
from transbordo.data_lock import process_alive
from transbordo.settings import Settings

USER_TIMEOUT_SECONDS = 2.0
"""Short, so the test is quick; the default is 30."""
KEEPALIVE_SECONDS = 0.5
"""The idle case's keep-alive (`stream_keepalive_seconds`), so it needs no 15 s wait."""
KILL_WAIT_SECONDS = 10.0

NEEDS = (
    "tests/test_half_open.py needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN (it makes a "
    "network namespace and a veth pair) and iproute2 (`ip`); without them deselect it: "
    "pytest -k 'not half_open'"
)
PREFIX = "tbho"
OURS = re.compile(rf"^{PREFIX}(\d+)[nab]\d+$")
"""A name this test made: the prefix, the pid of the run, the kind, the run's own count."""
RANGE = ipaddress.IPv4Network("198.18.0.0/15")
"""RFC 2544's benchmarking range: no real network is numbered from it."""
LOCK_PATH = "/tmp/transbordo-test-half-open.lock"
_made = itertools.count()

SCREEN = """
import ctypes, os, signal, sys, httpx
url, token, test = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed if the test's process dies
if os.getppid() != test:
    sys.exit("the test's process is gone")
with httpx.Client(timeout=None, trust_env=False) as http:
    with http.stream("GET", url, headers={"Authorization": "Bearer " + token}) as response:
        print(response.status_code, flush=True)
        for line in response.iter_lines():
            print(line, flush=True)
"""
"""The agent's screen: its stream, each line printed as it comes (it never closes it)."""


def ip(*args: str, check: bool = True) -> str:
    """Run `ip`; a failure (not root, no iproute2, no network namespaces) fails the test."""
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    except FileNotFoundError as error:
        raise AssertionError(f"no `ip` found: {NEEDS}") from error
    if check and done.returncode != 0:
        raise AssertionError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}; {NEEDS}")
    return done.stdout


@dataclass(frozen=True)
class Link:
    namespace: str
    host_device: str
    screen_device: str
    host_address: str
    screen_address: str


def left_by_dead_runs(names: Iterator[str]) -> list[str]:
    return [name for name in names if (m := OURS.match(name)) and not process_alive(int(m[1]))]


def sweep_dead_runs() -> None:
    """Remove the namespaces and veth links of runs killed before their own cleanup (their pid
    is gone); a live run's are never touched. A namespace's veth end goes with it, and the
    host's end with its peer."""
    namespaces = (line.split()[0] for line in ip("netns", "list").splitlines() if line.strip())
    for namespace in left_by_dead_runs(namespaces):
        ip("netns", "del", namespace, check=False)
    links = (line.split(":")[1].strip().split("@")[0] for line in ip("-o", "link").splitlines())
    for device in left_by_dead_runs(links):
        ip("link", "del", device, check=False)


def free_pair() -> tuple[str, str]:
    """The two host addresses of the first /30 of RANGE that no address here falls in (call it
    under the lock, and assign one before letting go)."""
    taken = [
        ipaddress.IPv4Interface(match).network
        for match in re.findall(r"\binet (\S+)", ip("-o", "-4", "addr", "show"))
    ]
    for subnet in RANGE.subnets(new_prefix=30):
        if not any(subnet.overlaps(network) for network in taken):
            host, screen = list(subnet.hosts())
            return str(host), str(screen)
    raise AssertionError(f"no free /30 left in {RANGE}")


@contextmanager
def locked() -> Iterator[None]:
    """Held while a run picks its subnet and makes its link: no two runs pick the same."""
    with open(LOCK_PATH, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # closing the file releases it (and so does the process's death)


@contextmanager
def veth_namespace() -> Iterator[Link]:
    """A namespace joined to this host by a veth pair, named for this process; what this run
    made is removed after, however the test ends, and nothing else."""
    undo: list[tuple[str, ...]] = []  # the `ip` arguments removing each thing made, in order
    try:
        with locked():
            sweep_dead_runs()
            n = next(_made)
            pid = os.getpid()
            namespace, host_device, screen_device = (f"{PREFIX}{pid}{kind}{n}" for kind in "nab")
            host, screen = free_pair()
            ip("netns", "add", namespace)
            undo.append(("netns", "del", namespace))
            ip("link", "add", host_device, "type", "veth", "peer", "name", screen_device)
            undo.append(("link", "del", host_device))  # its peer goes with it
            ip("link", "set", screen_device, "netns", namespace)
            ip("addr", "add", f"{host}/30", "dev", host_device)
        ip("link", "set", host_device, "up")
        ip("-n", namespace, "addr", "add", f"{screen}/30", "dev", screen_device)
        ip("-n", namespace, "link", "set", screen_device, "up")
        yield Link(namespace, host_device, screen_device, host, screen)
    finally:
        for args in reversed(undo):
            ip(*args, check=False)


@asynccontextmanager
async def served_on(app: FastAPI, address: str) -> AsyncIterator[str]:
    """`app` (its lifespan already running) behind uvicorn with our protocol, as `transbordo
    api` serves it, on `address`; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((address, 0))
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=1,
        http=CoalescedHttpToolsProtocol,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while not server.started:
                if task.done():
                    task.result()
                    raise AssertionError("uvicorn stopped before it started")
                await asyncio.sleep(POLL_SECONDS)
        yield f"http://{address}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Screen:
    process: asyncio.subprocess.Process
    lines: list[str]

    async def read_until(self, wanted: str) -> None:
        """Read the stream's lines until one is `wanted` (the screen stopping fails)."""
        stdout, stderr = self.process.stdout, self.process.stderr
        assert stdout is not None and stderr is not None
        async with asyncio.timeout(DEADLINE_SECONDS):
            while wanted not in self.lines:
                line = await stdout.readline()
                if not line:
                    error = (await stderr.read()).decode()
                    raise AssertionError(f"the screen stopped: {self.lines} {error}")
                self.lines.append(line.decode().strip())


@asynccontextmanager
async def screen_in(link: Link, url: str, token: str) -> AsyncIterator[Screen]:
    """The agent's screen in the namespace, its stream open and its first batch read (up to
    `conversations`); killed after, and waited for (it never outlives the test)."""
    process = await asyncio.create_subprocess_exec(
        *("ip", "netns", "exec", link.namespace, sys.executable, "-c", SCREEN),
        *(url, token, str(os.getpid())),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        screen = Screen(process, [])
        await screen.read_until("event: conversations")
        assert screen.lines[0] == "200", screen.lines
        yield screen
    finally:
        if process.returncode is None:
            process.kill()
        try:
            async with asyncio.timeout(KILL_WAIT_SECONDS):
                await process.wait()
        except TimeoutError as error:
            raise AssertionError(f"the screen (pid {process.pid}) outlived SIGKILL") from error


async def another_tab(http: httpx.AsyncClient, token: dict[str, str]) -> int:
    """The status of an agent stream opened (and closed again) over a healthy path."""
    async with http.stream("GET", "/api/agent/stream", headers=token) as response:
        return response.status_code


@pytest.mark.parametrize("idle", [False, True], ids=["status-change", "keep-alive-only"])
async def test_a_vanished_screen_gives_its_stream_back(
    time_env: WorkflowEnvironment, settings: Settings, engine: sa.Engine, idle: bool
) -> None:
    """Ana may hold one stream. Her laptop's network goes while its stream is open: the server
    soon ends that stream (what it sends next is never acknowledged: her status change, or,
    with nothing to say, the stream's keep-alive), so a tab of hers on a healthy network gets a
    stream again, and she is not seen through the vanished one."""
    update: dict[str, object] = {
        "max_streams_per_agent": 1,
        "tcp_user_timeout_seconds": USER_TIMEOUT_SECONDS,
    }
    if idle:  # the default keep-alive (15 s) would do, just slower
        update["stream_keepalive_seconds"] = KEEPALIVE_SECONDS
    app = create_app(
        settings.model_copy(update=update), engine=engine, client=pydantic_client(time_env)
    )
    async with api_client(app) as http:
        omni = await setup_omni(http)
        ana, ana_id = omni.agent("Ana"), omni.agents["Ana"]["id"]
        token = ana["Authorization"].removeprefix("Bearer ")
        with veth_namespace() as link:
            async with (
                served_on(app, link.host_address) as base_url,
                httpx.AsyncClient(
                    base_url=base_url, timeout=DEADLINE_SECONDS, trust_env=False
                ) as healthy,
                screen_in(link, base_url + "/api/agent/stream", token) as screen,
            ):
                assert await another_tab(healthy, ana) == 429  # the laptop's stream holds it
                if idle:
                    await screen.read_until(": keep-alive")  # what will go unacknowledged

                ip("-n", link.namespace, "link", "set", link.screen_device, "down")
                if not idle:
                    paused = await http.post(
                        "/api/agent/status", json={"status": "paused"}, headers=ana
                    )  # the stream sends it at once
                    assert paused.status_code == 200, paused.text

                async def given_back() -> bool | None:
                    return True if await another_tab(healthy, ana) == 200 else None

                await eventually(given_back, "the vanished screen's stream place given back")

                async def unseen() -> bool | None:
                    return True if not presence_of(app).streaming(ana_id) else None

                await eventually(unseen, "no stream of Ana's left open")
                assert screen.process.returncode is None  # the laptop never closed anything
