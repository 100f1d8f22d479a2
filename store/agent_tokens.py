"""Agents found by their bearer token lately, per process (the setting
`agent_token_cache_seconds`, default 5 s), so an agent's request skips the SQL lookup.

Like the connector credential cache (store/channel_credentials.py): only tokens that named an
agent are kept (unknown tokens never); any change to agents or to services through this
process that a request's checks rely on (delete, token rotation, services, supervisor, a
service renamed or deleted) forgets the whole cache at once (`forget_all`), and a lookup that
raced with such a change is not kept. A status change forgets only that agent's entries
(`forget_agent`): no check takes the status from here (`/api/agent/me` and the agent stream
read it from SQL). A change made through another API replica, or by the worker (an agent set
`away` after lapsed offers), is seen here within the bound. Keys are the token's SHA-256, as
SQL stores it, per engine (a weak key: the engine is neither kept alive nor rendered per
lookup).
"""

from __future__ import annotations

import threading
import time
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from omni.models import AgentPublic

MAX_SECONDS = 60.0
_CACHE_MAX = 10_000
_cache: WeakKeyDictionary[Engine, dict[str, tuple[AgentPublic, float]]] = WeakKeyDictionary()
"""engine → token hash → (agent, monotonic expiry)."""
_lock = threading.Lock()
_generation = 0
"""Bumped by every change but a status, so a lookup that raced with one is not kept."""


def forget_all() -> None:
    """Agents or services changed through this process: every agent is looked up again."""
    global _generation
    with _lock:
        _cache.clear()
        _generation += 1


def forget_agent(engine: Engine, agent_id: str) -> None:
    """Only this agent's status changed: its tokens are looked up again, the rest stay. A walk
    of this engine's entries (at most `_CACHE_MAX`, usually this replica's agents), on a
    human-paced change, not on the request path."""
    with _lock:
        entries = _cache.get(engine)
        if entries:
            for token_hash in [h for h, (agent, _) in entries.items() if agent.id == agent_id]:
                del entries[token_hash]


def generation() -> int:
    """Take before a lookup; `keep` it with this only if nothing changed meanwhile."""
    with _lock:
        return _generation


def cached(engine: Engine, token_hash: str) -> AgentPublic | None:
    """The agent this token named within the bound, or None (look it up in SQL)."""
    with _lock:
        entries = _cache.get(engine)
        hit = entries.get(token_hash) if entries is not None else None
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


def keep(engine: Engine, token_hash: str, agent: AgentPublic, seconds: float, since: int) -> None:
    """Remember `agent` for `seconds` (at most MAX_SECONDS), unless a change came after `since`."""
    if seconds <= 0:
        return
    with _lock:
        if since != _generation:
            return
        entries = _cache.setdefault(engine, {})
        if len(entries) >= _CACHE_MAX:
            entries.clear()
        entries[token_hash] = (agent, time.monotonic() + min(seconds, MAX_SECONDS))
