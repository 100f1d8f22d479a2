"""Activity: the flow's `http` block — timeouts, a response size cap, and no private targets.

A bot designer's URL must not become a way into the operator's own network, so loopback,
private, link-local and other special addresses are refused unless the bot's config allows them.
The URL and headers arrive with their ``${NAME}`` references unresolved (:mod:`bots.env_refs`):
they are resolved here, from the worker's environment, and error messages (which end up in the
history) carry the references again, never the values.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from bots import env_refs
from bots.limits import FlowLimits
from workflows.interpreter import HttpRequest, HttpResult

MAX_RESPONSE_BYTES = 1_000_000
RETRYABLE_STATUS = {429, 502, 503, 504}


class HttpCall(BaseModel):
    request: HttpRequest
    allow_private_addresses: bool = False


class BlockedAddress(Exception):
    """The URL resolves to an address a flow may not reach."""


async def check_target(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("only http(s) URLs with a host are allowed")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise BlockedAddress(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise BlockedAddress(
                f"{parts.hostname} resolves to {address}, a non-public address; set"
                " `http: {allow_private_addresses: true}` in the bot to allow it"
            )


class HttpCalls:
    """The `http` block's activity, with the operator's flow limits (which `${VAR}` it may
    resolve, checked again here: a flow may have been published under a looser setting)."""

    def __init__(self, limits: FlowLimits) -> None:
        self._limits = limits

    @activity.defn(name="call_http")
    async def call_http(self, call: HttpCall) -> HttpResult:
        """One HTTP request; final failures come back as `ok: false` for the flow to branch on."""
        return await _call(call, os.environ, self._limits)


async def _call(call: HttpCall, env: Mapping[str, str], limits: FlowLimits) -> HttpResult:
    marked = [call.request.url, *call.request.headers.values()]
    try:
        request = _resolved(call.request, env, limits)
        await check_target(request.url, call.allow_private_addresses)
        return await _send(request)
    except (env_refs.Unresolved, BlockedAddress) as exc:
        return HttpResult(ok=False, error=env_refs.redact(str(exc), marked, env))
    except Exception as exc:  # noqa: BLE001 - any message may hold a value: retried, redacted
        message = str(exc) if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        raise ApplicationError(env_refs.redact(message, marked, env)) from None


def _resolved(request: HttpRequest, env: Mapping[str, str], limits: FlowLimits) -> HttpRequest:
    return request.model_copy(
        update={
            "url": env_refs.resolve(request.url, env, limits),
            "headers": {k: env_refs.resolve(v, env, limits) for k, v in request.headers.items()},
        }
    )


async def _send(request: HttpRequest) -> HttpResult:
    timeout = httpx.Timeout(request.timeout_seconds)
    body = request.body
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                request.method,
                request.url,
                headers=request.headers,
                json=body if body is not None and not isinstance(body, str) else None,
                content=body if isinstance(body, str) else None,
            ) as response,
        ):
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    return HttpResult(
                        ok=False,
                        status=response.status_code,
                        error=f"response larger than {MAX_RESPONSE_BYTES} bytes",
                    )
                chunks.append(chunk)
    except httpx.TransportError as exc:
        raise ApplicationError(f"{type(exc).__name__}: {exc}") from None  # retried by policy
    if response.status_code in RETRYABLE_STATUS and activity.info().attempt < 3:
        raise ApplicationError(f"HTTP {response.status_code}")
    raw = b"".join(chunks)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return HttpResult(ok=response.is_success, status=response.status_code, body=parsed)
