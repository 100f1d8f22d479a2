"""Rate limits of the public routes, shared by every API replica when a shared store is set.

Moving windows: in-process memory by default (`LocalWindows`), Redis through `limits` when
`TRANSBORDO_RATE_LIMIT_STORAGE=redis://…`, so several replicas count together. Each rule is a
`limits` expression ("120/minute") keyed by what it protects: the client address, the contact,
the bot. A refusal carries how long to wait, which the API sends as `Retry-After`.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
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


class LocalWindows:
    """Moving windows in this process's memory: per rule, per key the monotonic times of the
    hits still in the window, oldest first. A hit exactly one window old still counts, as in
    `limits` (`atime >= now - expiry`). A key's old hits go when the key is used; keys idle for
    a whole window go in a sweep at most every `SWEEP_SECONDS`. Used on the event loop only.

    Why not `limits`' own memory store: after hits it walks every key with a thread hop per key
    (`MemoryStorage.__expire_events`), again and again while hits arrive, so with thousands of
    contacts each message cost thousands of hops (bench/README.md, "fourth pass").

    The sweep never walks live keys: each rule's keys are kept in the order of their last hit
    (a counted hit moves its key to the end), so it drops idle keys from the front and stops at
    the first live one, and drops at most `SWEEP_MAX` per call (the rest on the next calls), so
    one request never pays for a crowd of keys that went idle together."""

    SWEEP_SECONDS = 60.0
    SWEEP_MAX = 1000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, OrderedDict[str, deque[float]]] = {}
        """rule → key → hit times, keys in the order of their last hit."""
        self._windows: dict[str, float] = {}
        self._swept = clock()

    def _in_window(self, rule: str, key: str, now: float) -> deque[float] | None:
        hits = self._hits[rule].get(key)
        if hits is not None:
            oldest = now - self._windows[rule]
            while hits and hits[0] < oldest:
                hits.popleft()
        return hits

    def wait(self, rule: str, item: RateLimitItem, key: str, *, count: bool) -> float | None:
        """None when `key` is under `rule` (the hit counted when `count`), else the seconds
        until its oldest hit leaves the window."""
        now = self._clock()
        if rule not in self._windows:
            self._windows[rule] = float(item.get_expiry())
            self._hits[rule] = OrderedDict()
        if now - self._swept >= self.SWEEP_SECONDS:
            self._sweep(now)
        hits = self._in_window(rule, key, now)
        if hits and len(hits) >= item.amount:
            return hits[0] + self._windows[rule] - now
        if item.amount < 1:
            return 1.0
        if count:
            keys = self._hits[rule]
            if hits is None:
                keys[key] = hits = deque()
            else:
                keys.move_to_end(key)
            hits.append(now)
        return None

    def _sweep(self, now: float) -> None:
        """Drop keys whose last hit left the window, oldest first, at most `SWEEP_MAX`; when
        that many went, the next call sweeps on."""
        budget = self.SWEEP_MAX
        for rule, keys in self._hits.items():
            oldest = now - self._windows[rule]
            while keys and budget:
                key, hits = next(iter(keys.items()))
                if hits and hits[-1] >= oldest:
                    break
                del keys[key]
                budget -= 1
        if budget:
            self._swept = now

    def __len__(self) -> int:
        """Keys with hits kept."""
        return sum(len(keys) for keys in self._hits.values())


class RateLimiter:
    """Checks and counts hits against named rules; one instance per API process."""

    def __init__(self, storage_uri: str, rules: dict[str, str]) -> None:
        self._rules = {name: Rule(name, parse(text)) for name, text in rules.items()}
        self._local: LocalWindows | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        if storage_uri.removeprefix("async+").startswith("memory://"):
            self._local = LocalWindows()
        else:
            uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
            self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def hit(self, rule: str, key: str) -> None:
        """Count one hit of `key` under `rule`; RateLimited when it is over the limit."""
        await self._ask(rule, key, count=True)

    async def check(self, rule: str, key: str) -> None:
        """RateLimited when `key` is already over `rule`, without counting a hit (a rule that
        counts only failures: the route checks first, and `hit`s when the request fails)."""
        await self._ask(rule, key, count=False)

    async def _ask(self, rule: str, key: str, *, count: bool) -> None:
        item = self._rules[rule].item
        if self._local is not None:
            wait = self._local.wait(rule, item, key, count=count)
            if wait is None:
                return
            raise RateLimited(rule, max(1, math.ceil(wait)))
        assert self._limiter is not None
        if await (self._limiter.hit if count else self._limiter.test)(item, rule, key):
            return
        stats = await self._limiter.get_window_stats(item, rule, key)
        raise RateLimited(rule, max(1, math.ceil(stats.reset_time - time.time())))
