"""At most `max_streams_per_address` open SSE streams per client address, per API process.

A pure ASGI middleware around the two stream routes: an open stream costs a poll loop, so one
address may not hold many. Counted in-process (a stream lives in one process); a 429 with
`Retry-After` answers the one too many. The client address is `request.client.host`: behind a
proxy, uvicorn's `--forwarded-allow-ips` makes it the customer's (docs/limits.md).
"""

from __future__ import annotations

import re
from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import rate_limited
from api.rate_limits import RateLimited
from transbordo.settings import Settings

STREAMS = re.compile(r"^/api/(conversations/[^/]+/stream|agent/stream)$")
RETRY_AFTER_SECONDS = 5


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class StreamCap:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.cap = settings.max_streams_per_address
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not STREAMS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
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
