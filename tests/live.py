"""Helpers for tests that need a live HTTP server: real streaming (SSE) over real sockets."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.testing import WorkflowEnvironment

from transbordo.stack import serve as serving  # noqa: F401  (`app` behind real uvicorn)

DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.1

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll `check` until it returns something other than None, or fail at the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = await check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {DEADLINE_SECONDS}s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


SKIP_RPC_TIMEOUT = timedelta(minutes=5)


async def skip_through(env: WorkflowEnvironment, duration: timedelta) -> None:
    """`env.sleep(duration)` for a span with much work in it: the test server returns only once
    the work due within it has run (every activity and workflow task: time stands still while
    one is in flight), which on a loaded machine outlasts the call's default deadline."""
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    await env.client.service_client.test_service.unlock_time_skipping_with_sleep(
        request, timeout=SKIP_RPC_TIMEOUT
    )


@dataclass
class Event:
    id: str | None
    event: str
    data: Any


async def sse_events(response: httpx.Response) -> AsyncIterator[Event]:
    """Parse a text/event-stream body into events (comments and bare `retry:` skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield Event(
                    fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])
                )
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


Answer = Callable[[str, dict[str, str], bytes], dict[str, Any]]
"""(path, headers with lower-case names, body) → the JSON a loopback back-end answers."""


@contextmanager
def json_server(answer: Answer) -> Iterator[str]:
    """A real HTTP server on loopback answering every GET and POST with `answer`'s JSON (a
    customer's back-end, a CRM); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            payload = json.dumps(answer(self.path, headers, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
