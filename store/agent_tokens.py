"""Agents found by their bearer token lately, per process (the setting
`agent_token_cache_seconds`, default 5 s), so an agent's request skips the SQL lookup.

Like the connector credential cache (store/channel_credentials.py): only tokens that named an
agent are kept (unknown tokens never); any change to agents or to services through this
process (delete, token rotation, services, status, a service renamed or deleted) forgets the
whole cache at once (`forget_all`), and a lookup that raced with such a change is not kept. A
change made through another API replica, or by the worker (an agent set `away` after lapsed
offers), is seen here within the bound. Keys are the token's SHA-256, as SQL stores it.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from omni.models import AgentPublic

MAX_SECONDS = 60.0
_CACHE_MAX = 10_000
_cache: dict[tuple[str, str], tuple[AgentPublic, float]] = {}
"""(database URL, token hash) → (agent, monotonic expiry)."""
_lock = threading.Lock()
_generation = 0
"""Bumped by every change, so a lookup that raced with one is not kept."""


def _key(engine: Engine, token_hash: str) -> tuple[str, str]:
    return engine.url.render_as_string(hide_password=True), token_hash


def forget_all() -> None:
    """Agents or services changed through this process: every agent is looked up again."""
    global _generation
    with _lock:
        _cache.clear()
        _generation += 1


def generation() -> int:
    """Take before a lookup; `keep` it with this only if nothing changed meanwhile."""
    with _lock:
        return _generation


def cached(engine: Engine, token_hash: str) -> AgentPublic | None:
    """The agent this token named within the bound, or None (look it up in SQL)."""
    with _lock:
        hit = _cache.get(_key(engine, token_hash))
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def keep(engine: Engine, token_hash: str, agent: AgentPublic, seconds: float, since: int) -> None:
    """Remember `agent` for `seconds` (at most MAX_SECONDS), unless a change came after `since`."""
    if seconds <= 0:
        return
    with _lock:
        if since != _generation:
            return
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[_key(engine, token_hash)] = (agent, time.monotonic() + min(seconds, MAX_SECONDS))
