"""Helpers for tests that need a live HTTP server: real streaming (SSE) over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

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
