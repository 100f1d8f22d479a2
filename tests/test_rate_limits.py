"""Rate limits count per key, refuse with a wait, and are shared across replicas through Redis."""

from __future__ import annotations

import os
import uuid

import pytest

from api.rate_limits import RateLimited, RateLimiter

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
