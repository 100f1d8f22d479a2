"""Server-Sent Events, one way for both streams (the customer's transcript, the agent screen).

sse-starlette writes the frames, sends a keep-alive comment every `stream_keepalive_seconds`
of the served app's settings (so proxies keep an idle stream open, and a vanished client's
connection has data to time out on) and stops the event generator when the client disconnects;
the streams themselves only poll SQL and say what is new.

A stopping server ends a stream through its connection's drain (api/stream_drain.py): the
stream returns and its response ends whole. sse-starlette's own shutdown detection is turned off
here: it cancels every stream of the event loop when it sees any uvicorn server of the process
stopping (the one whose handler SIGTERM has, polled every 0.5 s), and a cancelled stream ends
without the chunked body's last chunk (a browser logs `net::ERR_INCOMPLETE_CHUNKED_ENCODING`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import AppStatus
from starlette.types import Receive, Scope, Send

from transbordo.settings import served_settings

RETRY_MILLISECONDS = 1000
"""How long a browser waits before it reconnects (the first frame of every stream)."""
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# process-wide: our streams end themselves when their connection drains (api/stream_drain.py)
AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]


def event(name: str, data: object, *, id: int | str | None = None) -> ServerSentEvent:
    """One event whose data is `data` as JSON (not ASCII-escaped: the texts are pt-BR)."""
    return ServerSentEvent(
        data=json.dumps(data, ensure_ascii=False),
        event=name,
        id=str(id) if id is not None else None,
        sep="\n",
    )


def stream(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    """The response for a stream of events: the retry hint first, then `events` until they end
    or the client goes away, with keep-alive comments in between."""
    return _Stream(
        _with_retry_hint(events),
        ping=served_settings(None).stream_keepalive_seconds,  # the app's, once it starts
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep="\n"),
        sep="\n",
        headers=HEADERS,
    )


async def _with_retry_hint(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[object]:
    yield ServerSentEvent(retry=RETRY_MILLISECONDS, sep="\n")
    async for item in events:
        yield item


class _Stream(EventSourceResponse):
    """Its keep-alive period is the served app's, read as the response starts: the routes
    build the response without the request (api/app.py's lifespan keeps the settings on
    `app.state`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ping_interval = keepalive_of(scope.get("app"))
        await super().__call__(scope, receive, send)


def keepalive_of(app: object) -> float:
    """The served app's `stream_keepalive_seconds` (`served_settings`)."""
    return served_settings(app).stream_keepalive_seconds
