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
    now[0] += 30  # the first hit is exactly one window old: it still counts, as in `limits`
    assert windows.wait("r", item, "ana", count=True) == 0.0
    now[0] += 0.5  # now it left the window; the refused hits were not counted
    assert windows.wait("r", item, "ana", count=True) is None
    assert windows.wait("r", item, "ana", count=True) == pytest.approx(29.5)
    assert windows.wait("r", item, "bia", count=True) is None
    now[0] += LocalWindows.SWEEP_SECONDS + 60
    assert windows.wait("r", item, "carla", count=False) is None
    assert len(windows) == 0


async def test_a_hit_exactly_one_window_old_still_refuses_with_a_wait_of_a_second() -> None:
    """As `limits`' moving window (`atime >= now - expiry` counts): the boundary refuses."""
    now = [1000.0]
    limiter = RateLimiter("memory://", {"sessions per address": "1/minute"})
    assert limiter._local is not None
    limiter._local._clock = lambda: now[0]
    await limiter.hit("sessions per address", "ana")
    now[0] += 60
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("sessions per address", "ana")
    assert refused.value.retry_after == 1
    now[0] += 0.5
    await limiter.hit("sessions per address", "ana")


def test_the_sweep_drops_idle_keys_a_batch_at_a_time_and_keeps_live_ones() -> None:
    """A sweep stops at the first live key of each rule and drops at most `SWEEP_MAX` keys per
    call, so many keys going idle together cost one request a bounded amount."""

    class Small(LocalWindows):
        SWEEP_MAX = 3

    now = [1000.0]
    windows = Small(clock=lambda: now[0])
    item = parse("5/minute")
    for i in range(7):
        assert windows.wait("r", item, f"idle{i}", count=True) is None
    now[0] += 30
    assert windows.wait("r", item, "live", count=True) is None
    assert windows.wait("r", item, "idle0", count=True) is None  # used again: live, moved last
    now[0] = 1000.0 + LocalWindows.SWEEP_SECONDS + 1  # idle1..idle6 are out of the window
    assert windows.wait("s", item, "x", count=False) is None
    assert len(windows) == 8 - 3
    assert windows.wait("s", item, "x", count=False) is None  # the sweep goes on
    assert len(windows) == 2  # "live" and "idle0" stay
    assert windows.wait("r", item, "idle0", count=False) is None
    now[0] += LocalWindows.SWEEP_SECONDS  # the remaining keys went idle, "s" counted nothing
    assert windows.wait("s", item, "x", count=False) is None
    assert len(windows) == 0
