"""Open agent streams check their agent again every `agent_stream_recheck_seconds`: a deleted
agent or a rotated token ends the stream, the waiting list of a service the agent left stops
being sent (the conversations it holds stay: docs/security.md). Done per stream, 200 open
agent screens were 40 lookups a second on an idle API process; here one lookup a period serves
every agent stream of the process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import Engine

from omni.models import AgentPublic
from store import agents as agent_store


class AgentRechecks:
    def __init__(self, engine: Engine, every: float) -> None:
        self._engine, self._every = engine, every
        self._tokens: Counter[str] = Counter()
        self._found: dict[str, AgentPublic] = {}
        self._checked: set[str] = set()
        """The tokens the last lookup asked about (a stream opened since has not been checked)."""
        self._checked_at = time.monotonic()
        self._lock = asyncio.Lock()

    @contextmanager
    def following(self, token: str) -> Iterator[None]:
        """While a stream of `token`'s agent is open."""
        self._tokens[token] += 1
        try:
            yield
        finally:
            self._tokens[token] -= 1
            if self._tokens[token] <= 0:
                del self._tokens[token]

    def due_in(self) -> float:
        """Seconds until the next lookup."""
        return max(self._every - (time.monotonic() - self._checked_at), 0.0)

    async def current(self, token: str, agent: AgentPublic) -> AgentPublic | None:
        """`agent` as the last lookup found it; None once the token no longer names it."""
        if self.due_in() <= 0:
            async with self._lock:
                if self.due_in() <= 0:
                    tokens = list(self._tokens)
                    self._found = await asyncio.to_thread(
                        agent_store.agents_by_tokens, self._engine, tokens
                    )
                    self._checked, self._checked_at = set(tokens), time.monotonic()
        if token not in self._checked:
            return agent
        now = self._found.get(token)
        return now if now is not None and now.id == agent.id else None


def rechecks_of(request: Request) -> AgentRechecks:
    """The process's rechecks (made on first use, with the app's engine and settings)."""
    state = request.app.state
    if not hasattr(state, "agent_rechecks"):
        every = state.settings.agent_stream_recheck_seconds
        state.agent_rechecks = AgentRechecks(state.engine, every)
    rechecks: AgentRechecks = state.agent_rechecks
    return rechecks
