"""bench/overload.py's `next`: timed from outside, and split inside the API process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from bot_turn import row
from handoff_http import AGENT_CAPACITY, expect

from api.usecases import agent_actions as actions
from store import next_lease


async def take_next(http: httpx.AsyncClient, agents: list[dict[str, str]], count: int) -> None:
    """`next` from outside, and split inside this process (the API runs here): the SQL choice
    of candidates, the lease (store/next_lease.py) and the pickup Update (the workflow's task,
    replay on a cache miss, claim)."""
    if count == 0:
        return
    parts: dict[str, list[float]] = {"takeable": [], "take": [], "update": []}
    owners = {"takeable": actions, "take": next_lease, "update": actions}
    originals = {name: getattr(owners[name], name) for name in parts}

    @contextmanager
    def clock(name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            parts[name].append((time.perf_counter() - began) * 1000)

    def timed(name: str) -> Any:
        def sync(*args: Any) -> Any:
            with clock(name):
                return originals[name](*args)

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            with clock(name):
                return await originals[name](*args, **kwargs)

        return awaited if name == "update" else sync

    latencies = []
    for name in parts:
        setattr(owners[name], name, timed(name))
    try:
        for taken in range(count):
            began = time.perf_counter()
            await expect(http.post("/api/agent/next", headers=agents[taken // AGENT_CAPACITY]))
            latencies.append((time.perf_counter() - began) * 1000)
    finally:
        for name, original in originals.items():
            setattr(owners[name], name, original)
    print("   " + row(f"POST /api/agent/next (x{count})", latencies))
    for name, label in (("takeable", "SQL candidates"), ("take", "lease"), ("update", "pickup")):
        print("   " + row(f"  of which {label}", parts[name]))
