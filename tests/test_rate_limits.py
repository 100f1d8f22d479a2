"""Rate limits count per key, refuse with a wait, and are shared across replicas through Redis."""

from __future__ import annotations

import os
import uuid

import pytest
from limits import parse

from api.rate_limits import LocalWindows, RateLimited, RateLimiter

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


async def test_a_key_over_its_limit_waits_and_other_keys_do_not() -> None:
    limiter = RateLimiter("memory://", {"messages per contact": "3/minute"})
    for _ in range(3):
        await limiter.hit("messages per contact", "ana")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("messages per contact", "ana")
    assert 1 <= refused.value.retry_after <= 60
    await limiter.hit("messages per contact", "bia")


async def _redis_or_skip() -> None:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")


async def test_two_replicas_sharing_redis_count_together() -> None:
    await _redis_or_skip()
    rules = {"sessions per address": "4/minute"}
    first, second = RateLimiter(REDIS_URL, rules), RateLimiter(REDIS_URL, rules)
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    for limiter in (first, second, first, second):
        await limiter.hit("sessions per address", address)
    with pytest.raises(RateLimited):
        await second.hit("sessions per address", address)


async def test_memory_windows_move_and_forget_idle_keys() -> None:
    """The in-process store (`LocalWindows`): a hit leaves the window after its period, a
    refusal says how long until then, `check` counts nothing, idle keys are swept."""
    now = [1000.0]
    windows = LocalWindows(clock=lambda: now[0])
    item = parse("2/minute")
    assert windows.wait("r", item, "ana", count=True) is None
    now[0] += 30
    assert windows.wait("r", item, "ana", count=False) is None
    assert windows.wait("r", item, "ana", count=True) is None
    assert windows.wait("r", item, "ana", count=True) == pytest.approx(30.0)
    now[0] += 30  # the first hit left the window; the refused one was not counted
    assert windows.wait("r", item, "ana", count=True) is None
    assert windows.wait("r", item, "ana", count=True) == pytest.approx(30.0)
    assert windows.wait("r", item, "bia", count=True) is None
    now[0] += LocalWindows.SWEEP_SECONDS + 60
    assert windows.wait("r", item, "carla", count=False) is None
    assert len(windows) == 0
