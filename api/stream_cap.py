"""Open SSE streams, per API process: at most `max_streams_per_address` customer streams per
client address, at most `max_streams_per_agent` agent streams per agent.

A pure ASGI middleware around the two stream routes: an open stream costs a poll loop, so one
address (or agent) may not hold many. Counted in-process (a stream lives in one process); a 429
with `Retry-After` answers the one too many. The client address is `request.client.host`:
behind a proxy, uvicorn's `--forwarded-allow-ips` makes it the customer's (docs/limits.md); it
is counted by its key, an IPv6 address by its /64 (api/client_keys.py), as the rate limits are.

The customers' streams are public, so they are counted per address before anything else. The
agent stream is not counted per address: behind one office NAT (or a proxy that does not
forward addresses) the web-chat customers there would use up the address's places and lock
the agents out. It is counted per agent instead, once its token is checked: the route claims
its place (`claim_agent_stream`) and the middleware gives it back when the request ends, however
it ends.
"""

from __future__ import annotations

import re
from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send

from api.client_keys import rate_limit_key
from api.errors import rate_limited
from api.rate_limits import RateLimited
from transbordo.settings import Settings

CUSTOMER_STREAMS = re.compile(r"^/api/conversations/[^/]+/stream$")
AGENT_STREAM = "/api/agent/stream"
RETRY_AFTER_SECONDS = 5
CLAIM = "transbordo.agent_stream_claim"
"""The scope key of an agent stream's `Claim` (set by `StreamCap`, taken by the route)."""


def client_address(scope: Scope, ipv6_prefix: int) -> str:
    """The key the scope's client address is counted under (api/client_keys.py)."""
    client = scope.get("client")
    return rate_limit_key(client[0] if client else "unknown", ipv6_prefix)


class Claim:
    """An agent stream request's place, taken by the route once the agent is known."""

    def __init__(self, open_streams: Counter[str], cap: int) -> None:
        self._open = open_streams
        self._cap = cap
        self._agent_id: str | None = None

    def take(self, agent_id: str) -> None:
        if self._agent_id is not None:
            return
        if self._open[agent_id] >= self._cap:
            raise RateLimited("open streams per agent", RETRY_AFTER_SECONDS)
        self._open[agent_id] += 1
        self._agent_id = agent_id

    def release(self) -> None:
        agent_id, self._agent_id = self._agent_id, None
        if agent_id is not None:
            self._open[agent_id] -= 1
            if self._open[agent_id] <= 0:
                del self._open[agent_id]


def claim_agent_stream(scope: Scope, agent_id: str) -> None:
    """Take the agent's place for this stream (RateLimited, a 429, past `max_streams_per_agent`);
    given back when the request ends. Without `StreamCap` around the app, nothing is counted."""
    claim = scope.get(CLAIM)
    if isinstance(claim, Claim):
        claim.take(agent_id)


class StreamCap:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.cap = settings.max_streams_per_address
        self.agent_cap = settings.max_streams_per_agent
        self.ipv6_prefix = settings.rate_limit_ipv6_prefix
        self.open: Counter[str] = Counter()
        """Open customer streams per client address key."""
        self.agents: Counter[str] = Counter()
        """Open agent streams per agent id."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["path"] == AGENT_STREAM:
            claim = scope[CLAIM] = Claim(self.agents, self.agent_cap)
            try:
                await self.app(scope, receive, send)
            finally:
                claim.release()
        elif CUSTOMER_STREAMS.match(scope["path"]):
            await self._customer(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _customer(self, scope: Scope, receive: Receive, send: Send) -> None:
        address = client_address(scope, self.ipv6_prefix)
        if self.open[address] >= self.cap:
            refused = RateLimited("open streams per address", RETRY_AFTER_SECONDS)
            await rate_limited(refused)(scope, receive, send)
            return
        self.open[address] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]
