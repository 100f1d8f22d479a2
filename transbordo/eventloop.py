"""The event loop of the worker and API processes: uvloop where it is installed, else asyncio's.

Both processes spend most of their CPU in the loop's machinery (callbacks, sockets, the thread
hops of SQL and activities); uvloop (libuv, in C) and uvicorn's httptools parser cut the API's
and the worker's CPU per bot turn by ~8 % (bench/README.md, "uvloop and httptools: A/B"). The
latency ratios to a bare Temporal call do not move: a turn mostly waits on Temporal's round
trip. uvicorn picks the loop by itself when installed (`loop="auto"`); its HTTP protocol is
httptools through api/coalesced_http.py (one write per response); the worker asks here.
Windows has no uvloop: asyncio's loop there, as everywhere it is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the fastest loop available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
