"""What a bearer token named lately, per process: a credential's lookup skips SQL for a while.

Used for agents (store/agents.py, `agent_token_cache_seconds`) and connector credentials
(store/channel_credentials.py, `channel_credential_cache_seconds`), both 5 s by default. Only
tokens that named something are kept (unknown ones never); a change through this process that
a request's checks rely on forgets at once (`forget_all`, or `forget` for the entries one
change touches), and a lookup that raced with a `forget_all` is not kept (`generation`). A
change made through another API replica is seen here within the bound. Keys are the token's
SHA-256, as SQL stores it, per engine (a weak key: the engine is neither kept alive nor
rendered per lookup).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

if TYPE_CHECKING:
    from omni.models import AgentPublic

V = TypeVar("V")
MAX_SECONDS = 60.0
CACHE_MAX = 10_000


class TokenCache(Generic[V]):
    """token hash → (value, monotonic expiry), per engine; safe from threads and the loop."""

    def __init__(self) -> None:
        self._cache: WeakKeyDictionary[Engine, dict[str, tuple[V, float]]] = WeakKeyDictionary()
        self._lock = threading.Lock()
        self._generation = 0

    def forget_all(self) -> None:
        """Everything is looked up again; a lookup under way is not kept."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def forget(self, engine: Engine, drop: Callable[[V], bool]) -> None:
        """The entries of `engine` whose value `drop` names are looked up again. A walk of at
        most CACHE_MAX entries, on a human-paced change, not on the request path."""
        with self._lock:
            entries = self._cache.get(engine)
            if entries:
                for token_hash in [h for h, (value, _) in entries.items() if drop(value)]:
                    del entries[token_hash]

    def generation(self) -> int:
        """Take before a lookup; `keep` with it only if nothing was forgotten meanwhile."""
        with self._lock:
            return self._generation

    def cached(self, engine: Engine, token_hash: str) -> V | None:
        """What this token named within the bound, or None (look it up in SQL)."""
        with self._lock:
            entries = self._cache.get(engine)
            hit = entries.get(token_hash) if entries is not None else None
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def keep(self, engine: Engine, token_hash: str, value: V, seconds: float, since: int) -> None:
        """Remember `value` for `seconds` (at most MAX_SECONDS), unless forgotten after `since`."""
        if seconds <= 0:
            return
        with self._lock:
            if since != self._generation:
                return
            entries = self._cache.setdefault(engine, {})
            if len(entries) >= CACHE_MAX:
                entries.clear()
            entries[token_hash] = (value, time.monotonic() + min(seconds, MAX_SECONDS))


AGENTS: TokenCache[AgentPublic] = TokenCache()
"""Agents by their token (store/agents.py; store/services.py forgets on a service's change)."""
CHANNEL_CREDENTIALS: TokenCache[str] = TokenCache()
"""Bots by their connector credential (store/channel_credentials.py)."""
