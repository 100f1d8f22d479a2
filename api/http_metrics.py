"""HTTP figures of this API process: request latency by route template, and open streams.

A pure ASGI middleware (outermost, so refusals of the body limit and the stream cap count
too). Labels never hold a raw path: the route template the router matched
(`/api/conversations/{conversation_id}/messages`), or `unmatched` for a path no route has, so
ids and scanners' guesses cannot grow the series. The latency is the time until the response
starts: for a stream that is the time to open it; how long streams stay open is the gauge.
The same labels make the optional access log (setting `access_log`): a line per request with no
address, id or query in it.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from fastapi import routing
from prometheus_client import CollectorRegistry, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
STREAMS = {
    "/api/conversations/{conversation_id}/stream": "customer",
    "/api/agent/stream": "agent",
}
"""Route template → the stream kind it opens."""
ACCESS = logging.getLogger("transbordo.access")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HttpFigures:
    """The process's HTTP metrics, in the registry the app's `/metrics` serves."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "transbordo_http_request_duration_seconds",
            "Time until the response starts, by route template, method and status class.",
            ["route", "method", "status"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.streams = Gauge(
            "transbordo_open_streams",
            "SSE streams open in this API process, by kind (customer, agent).",
            ["kind"],
            registry=registry,
        )
        for kind in STREAMS.values():
            self.streams.labels(kind).set(0)
        self._templates: dict[int, str] | None = None

    def template(self, scope: Scope) -> str:
        """The full template of the route that answered (included routers' prefixes too)."""
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            self._templates = route_templates(scope["app"].routes)
        return self._templates.get(id(route)) or getattr(route, "path", None) or UNMATCHED


def route_templates(routes: Any) -> dict[int, str]:
    """id of each route object → its path as the app serves it. FastAPI >= 0.16x keeps an
    included router's routes with their own path; its route contexts know the full one."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:  # older FastAPI: included routes are copied with their full path
        return {id(route): route.path for route in routes if hasattr(route, "path")}
    return {id(ctx.original_route): ctx.path for ctx in contexts(routes) if ctx.path}


class HttpMetrics:
    """The middleware recording `HttpFigures`."""

    def __init__(self, app: ASGIApp, figures: HttpFigures, access_log: bool = False) -> None:
        self.app = app
        self.figures = figures
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        stream: list[str] = []
        answered = False

        async def timed_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                self._observe(scope, message["status"], perf_counter() - started, stream)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            if not answered:  # failed before answering: the server's 500
                self._observe(scope, 500, perf_counter() - started, stream)
            raise
        finally:
            for kind in stream:
                self.figures.streams.labels(kind).dec()

    def _observe(self, scope: Scope, status: int, seconds: float, stream: list[str]) -> None:
        route = self.figures.template(scope)
        self.figures.latency.labels(route, scope["method"], f"{status // 100}xx").observe(seconds)
        if self.access_log:
            ACCESS.info("%s %s %d %.1f ms", scope["method"], route, status, seconds * 1000)
        kind = STREAMS.get(route)
        if kind and status == 200:
            stream.append(kind)
            self.figures.streams.labels(kind).inc()
