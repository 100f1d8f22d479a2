"""Rate limits of the public routes, shared by every API replica when a shared store is set.

Built on `limits` (moving windows; in-process memory by default, Redis when
`TRANSBORDO_RATE_LIMIT_STORAGE=redis://…`, so several replicas count together). Each rule is a
`limits` expression ("120/minute") keyed by what it protects: the client address, the contact,
the bot. A refusal carries how long to wait, which the API sends as `Retry-After`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class RateLimited(Exception):
    """Too many requests for `scope`; try again after `retry_after` seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"too many requests ({scope}); try again in {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rule:
    scope: str
    """What the rule protects, e.g. "messages per address"."""
    item: RateLimitItem


class RateLimiter:
    """Checks and counts hits against named rules; one instance per API process."""

    def __init__(self, storage_uri: str, rules: dict[str, str]) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri))
        self._rules = {name: Rule(name, parse(text)) for name, text in rules.items()}

    async def hit(self, rule: str, key: str) -> None:
        """Count one hit of `key` under `rule`; RateLimited when it is over the limit."""
        item = self._rules[rule].item
        if await self._limiter.hit(item, rule, key):
            return
        stats = await self._limiter.get_window_stats(item, rule, key)
        raise RateLimited(rule, max(1, math.ceil(stats.reset_time - time.time())))

    async def check(self, rule: str, key: str) -> None:
        """RateLimited when `key` is already over `rule`, without counting a hit (a rule that
        counts only failures: the route checks first, and `hit`s when the request fails)."""
        item = self._rules[rule].item
        if await self._limiter.test(item, rule, key):
            return
        stats = await self._limiter.get_window_stats(item, rule, key)
        raise RateLimited(rule, max(1, math.ceil(stats.reset_time - time.time())))
