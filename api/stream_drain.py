"""A connection the server is closing: the SSE streams on it end whole, and their clients resume.

When uvicorn stops (SIGTERM or Ctrl-C to `transbordo api`, `up` stopping its API processes, a
test stack leaving), it stops accepting, closes the idle connections, asks each busy one to
close once its response is done (`shutdown()`), and waits for them. A stream's response is
done only when its events end, so the stream must be told. Our HTTP protocol
(api/coalesced_http.py) gives every request a `Drain` of its connection in the ASGI scope and
starts it when uvicorn calls `shutdown()` on that connection. A stream's `Watch`
(api/stream_hub.py) wakes then; the stream reads once more (what is ready, and `end` if the
conversation has ended) and returns: the response ends with the chunked body's last chunk, the
connection closes, and the client reconnects with `Last-Event-ID` (to another API process:
`up`'s shared port, a load balancer), missing nothing.

sse-starlette's own shutdown detection is off (api/sse.py): it cancelled every stream of the
event loop as soon as any uvicorn server of the process was stopping (it finds "the" server by
introspecting the SIGTERM handler, polled every 0.5 s), and a cancelled stream returns without
that last chunk: uvicorn logs "ASGI callable returned without completing response", closes the
socket, and a browser logs `net::ERR_INCOMPLETE_CHUNKED_ENCODING` for a stream that was a
moment from its own `end`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Scope

EXTENSION = "transbordo.drain"
"""The ASGI scope extension (`scope["extensions"][EXTENSION]["drain"]`) holding the `Drain`."""


class Drain:
    """One connection's "the server is closing me" flag, and who to wake when it is set."""

    def __init__(self) -> None:
        self.draining = False
        self._wakers: set[Callable[[], None]] = set()

    def start(self) -> None:
        """The server is closing this connection: wake what waits on it (once)."""
        if self.draining:
            return
        self.draining = True
        for wake in list(self._wakers):
            wake()

    def on_drain(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake` when the drain starts; returns what forgets it."""
        self._wakers.add(wake)
        return lambda: self._wakers.discard(wake)


def offer(scope: Scope, drain: Drain) -> None:
    """Put `drain` in a request's scope (the protocol does, for each request)."""
    extensions = scope.setdefault("extensions", {})
    extensions[EXTENSION] = {"drain": drain}


def drain_of(scope: Scope) -> Drain | None:
    """The request's connection's `Drain`; None when no server gives one (httpx's in-process
    ASGI transport: no connection to close)."""
    found = scope.get("extensions", {}).get(EXTENSION, {}).get("drain")
    return found if isinstance(found, Drain) else None
