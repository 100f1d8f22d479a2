"""A screen whose network vanished (a laptop lid closed, Wi-Fi lost: the peer silently gone, a
"half-open" connection) loses its stream once the server's writes to it stay unacknowledged for
`tcp_user_timeout_seconds` (api/coalesced_http.py), not after the ~15 minutes Linux retransmits
by default: its agent no longer counts as seen and its stream place is given back.

A real network: the API (uvicorn with our protocol) listens on one end of a veth pair; the
screen is a client process in a network namespace at the other end. Its link is then set down:
nothing tells the server the peer is gone, its writes just go unanswered. Needs root and
iproute2 (CI runs as root): without them the test fails, it does not skip.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx
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
from transbordo.settings import Settings

USER_TIMEOUT_SECONDS = 2.0
"""Short, so the test is quick; the default is 30."""

SCREEN = """
import sys, httpx
url, token = sys.argv[1], sys.argv[2]
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
        raise AssertionError("this test needs iproute2 (`ip`), and root") from error
    if check and done.returncode != 0:
        raise AssertionError(f"`ip {' '.join(args)}` failed (root needed): {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Link:
    namespace: str
    host_device: str
    screen_device: str
    host_address: str
    screen_address: str


def free_subnet() -> tuple[str, str]:
    """Two addresses of a /30 in 10.231.0.0/16 that no interface here has (parallel runs)."""
    taken = ip("-o", "-4", "addr", "show")
    for _ in range(100):
        third, base = random.randrange(256), 4 * random.randrange(64)
        pair = (f"10.231.{third}.{base + 1}", f"10.231.{third}.{base + 2}")
        if not any(f"10.231.{third}.{base + n}/" in taken for n in range(4)):
            return pair
    raise AssertionError("no free /30 in 10.231.0.0/16")


@contextmanager
def veth_namespace() -> Iterator[Link]:
    """A namespace joined to this host by a veth pair, names unique to this run; removed after,
    however the test ends."""
    token = secrets.token_hex(3)
    host, screen = free_subnet()
    link = Link(f"halfopen-{token}", f"ho{token}h", f"ho{token}s", host, screen)
    try:
        ip("netns", "add", link.namespace)
        ip("link", "add", link.host_device, "type", "veth", "peer", "name", link.screen_device)
        ip("link", "set", link.screen_device, "netns", link.namespace)
        ip("addr", "add", f"{host}/30", "dev", link.host_device)
        ip("link", "set", link.host_device, "up")
        ip("-n", link.namespace, "addr", "add", f"{screen}/30", "dev", link.screen_device)
        ip("-n", link.namespace, "link", "set", link.screen_device, "up")
        yield link
    finally:
        ip("link", "del", link.host_device, check=False)  # its peer goes with it
        ip("netns", "del", link.namespace, check=False)


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


@asynccontextmanager
async def screen_in(link: Link, url: str, token: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """The agent's screen in the namespace, its stream open and its first batch read (up to
    `conversations`); killed after."""
    process = await asyncio.create_subprocess_exec(
        *("ip", "netns", "exec", link.namespace, sys.executable, "-c", SCREEN, url, token),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(DEADLINE_SECONDS):
            while "event: conversations" not in lines:
                line = await process.stdout.readline()
                if not line:
                    error = (await process.stderr.read()).decode()
                    raise AssertionError(f"the screen stopped: {lines} {error}")
                lines.append(line.decode().strip())
        assert lines[0] == "200", lines
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def another_tab(http: httpx.AsyncClient, token: dict[str, str]) -> int:
    """The status of an agent stream opened (and closed again) over a healthy path."""
    async with http.stream("GET", "/api/agent/stream", headers=token) as response:
        return response.status_code


async def test_a_vanished_screen_gives_its_stream_back(
    time_env: WorkflowEnvironment, settings: Settings, engine: sa.Engine
) -> None:
    """Ana may hold one stream. Her laptop's network goes while its stream is open: the server
    soon ends that stream (its status change is never acknowledged), so a tab of hers on a
    healthy network gets a stream again, and she is not seen through the vanished one."""
    settings = settings.model_copy(
        update={"max_streams_per_agent": 1, "tcp_user_timeout_seconds": USER_TIMEOUT_SECONDS}
    )
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
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

                ip("-n", link.namespace, "link", "set", link.screen_device, "down")
                paused = await http.post(
                    "/api/agent/status", json={"status": "paused"}, headers=ana
                )  # the stream sends it; the keep-alive would within 15 s anyway
                assert paused.status_code == 200, paused.text

                async def given_back() -> bool | None:
                    return True if await another_tab(healthy, ana) == 200 else None

                await eventually(given_back, "the vanished screen's stream place given back")

                async def unseen() -> bool | None:
                    return True if not presence_of(app).streaming(ana_id) else None

                await eventually(unseen, "no stream of Ana's left open")
                assert screen.returncode is None  # the laptop never closed anything
