"""The benches' HTTP client: httpx's API over aiohttp's connections and C parser.

A bench's HTTP client stands for the customers' devices and the companies' connectors: none of
its CPU is the product's, yet on this 2-core machine it runs beside the processes it measures,
and in the same process in the one-process benches. httpx on its own transport (httpcore, h11,
anyio) spends 1.1–1.8 ms of CPU per request (more under load), on aiohttp's ~0.45, and its
round trip is twice as long (`http_floor.py` prints both clients). httpx-aiohttp's transport
(the one the OpenAI SDK ships as its aiohttp backend) keeps httpx's API, so each bench runs the
same code with either; `--client httpx` gives the first passes' figures.

The timed posts of the turn benches (`posting`) skip httpx's own layer too (its request and
response models, cookie jar, auth and redirect hooks: ~0.7 ms of CPU per request on this VM)
and go straight to an aiohttp session: a customer's device pays none of it on our behalf.
`--client httpx-aiohttp` keeps httpx's layer for them (the third to fifteenth passes' figures).
"""

from __future__ import annotations

import argparse
import json as json_module
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx

CLIENTS = ("aiohttp", "httpx-aiohttp", "httpx")


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="aiohttp",
        help="the bench's HTTP client (aiohttp: the lightest; httpx-aiohttp: httpx's API over"
        " aiohttp, as before the sixteenth pass; httpx: on its own transport)",
    )


def transport(client: str, limits: httpx.Limits | None = None) -> httpx.AsyncBaseTransport | None:
    """The transport for an `httpx.AsyncClient` (None: httpx's own). `limits`: its
    `max_connections` and keep-alive expiry (aiohttp has no cap on idle connections)."""
    if client == "httpx":
        return None
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError as missing:
        raise SystemExit(
            "bench: --client aiohttp or httpx-aiohttp needs the bench extra:"
            " pip install -e '.[test,bench]' (or pass --client httpx)"
        ) from missing

    class Transport(AiohttpTransport):
        """httpx's errors for a dropped connection, as httpx's own transport raises them
        (httpx-aiohttp calls every connection error a ConnectTimeout): the benches send a
        message again after a kept-alive connection the server closed (overload.py). A body cut
        short is aiohttp's ClientPayloadError, which httpx-aiohttp already calls a ReadError."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return await super().handle_async_request(request)
            except httpx.TransportError as error:
                cause = error.__cause__
                for theirs, ours in DROPPED:  # the first that matches
                    if isinstance(cause, theirs):
                        raise ours(str(cause), request=request) from cause
                raise

    DROPPED: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
        (aiohttp.ClientConnectorError, httpx.ConnectError),  # a ClientOSError too: first
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientOSError, httpx.ReadError),
    )

    return Transport(limits=limits or httpx.Limits(max_connections=100))


KEEP_ALIVE_SECONDS = 4.0
"""How long the timed posts keep an idle connection: less than uvicorn's 5 s, so none is reused
after the server closed it."""
TIMEOUT_SECONDS = 30.0
"""A timed post's limit, as the benches' httpx clients'."""


class Answer(Protocol):
    """What the turn benches read of an answer (httpx.Response has it too)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Poster(Protocol):
    """What the turn benches post with (httpx.AsyncClient is one)."""

    async def post(self, url: str, *, json: Any) -> Answer: ...


@asynccontextmanager
async def posting(
    http: httpx.AsyncClient, client: str, bearer: str | None = None
) -> AsyncIterator[Poster]:
    """The timed posts' client: `http` itself with `--client httpx` or `httpx-aiohttp`; else
    an aiohttp session of its own with `http`'s base URL and headers as they are now (the
    connector's token), or the `bearer` token (where `http` adds it per request:
    transbordo/connector_auth.py)."""
    if client != "aiohttp":
        yield http
        return
    import aiohttp

    headers = {k: v for k, v in http.headers.items() if k.lower() not in ("host", "connection")}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    connector = aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS)
    base, timeout = str(http.base_url), aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(
        base, headers=headers, connector=connector, timeout=timeout
    ) as session:
        yield _AiohttpPoster(session)


class _Answered:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code, self._body = status_code, body

    @property
    def text(self) -> str:
        return self._body.decode()

    def json(self) -> Any:
        return json_module.loads(self._body)


class _AiohttpPoster:
    def __init__(self, session: Any) -> None:
        self._session = session

    async def post(self, url: str, *, json: Any) -> Answer:
        async with self._session.post(url, json=json) as response:
            return _Answered(response.status, await response.read())


def stack_token(http: httpx.AsyncClient, bot: str = "eco") -> str:
    """The connector token the in-process stack's client adds to `bot`'s routes
    (transbordo/connector_auth.py), for a poster of another client."""
    from transbordo.connector_auth import ConnectorAuth

    assert isinstance(http.auth, ConnectorAuth)
    return http.auth.token(bot)
