"""Activity: the flow's `http` block — timeouts, a response size cap, and no private targets.

A bot designer's URL must not become a way into the operator's own network, so loopback,
private, link-local and other special addresses are refused unless the bot's config allows them.
The host is resolved once and the request goes to the address checked (its name kept in `Host`
and in TLS's SNI and certificate check): a name that answers a public address to the check and
a private one to the connection (DNS rebinding) gains nothing. The environment's proxy settings
are not used, so every request goes where the check said.
The URL and headers arrive with their ``${NAME}`` references unresolved (:mod:`bots.env_refs`):
they are resolved here, from the worker's environment, and error messages (which end up in the
history) carry the references again, never the values.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
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


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""host, port → the addresses it resolves to (the system's resolver, or a test's)."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
CARRIES_LAST_32_BITS = tuple(
    ipaddress.ip_network(prefix)
    for prefix in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated); :: and ::1 carry 0.0.0.x: not public either
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64's well-known prefix
    )
)


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally reachable unicast. An IPv6 address that carries an IPv4 one (mapped, compatible,
    translated, NAT64's well-known prefix, 6to4) reaches that IPv4 address and is judged by it;
    Teredo is refused (it is not global, and its client's IPv4 address is a NAT's, reached over
    UDP); any other IPv6 address must be global unicast (`2000::/3`: no site-local, multicast,
    unique-local, NAT64 local-use `64:ff9b:1::/48`) and not in a special-purpose range."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in prefix for prefix in CARRIES_LAST_32_BITS):
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
        if address.sixtofour is not None:
            return is_public(address.sixtofour)
        if address.teredo is not None or address not in GLOBAL_UNICAST:
            return False
    return address.is_global and not address.is_multicast


async def checked_addresses(url: str, allow_private: bool, resolve: Resolver) -> list[str]:
    """The addresses to connect to for `url`, in the resolver's order, once every one its host
    resolves to is public (or the bot allows private ones). A failed lookup raises OSError:
    retried as a transport error."""
    if not url:  # the interpreter's "no URL" (workflows/interpreter.py `_render_marked`)
        raise BlockedAddress(
            "no URL: its template failed or grew over the bound, or a value was '.' or '..'"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("only http(s) URLs with a host are allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    found = [ipaddress.ip_address(a.split("%")[0]) for a in await resolve(parts.hostname, port)]
    if not found:
        raise BlockedAddress(f"cannot resolve {parts.hostname}")
    for address in found:
        if not allow_private and not is_public(address):
            raise BlockedAddress(
                f"{parts.hostname} resolves to {address}, a non-public address; set"
                " `http: {allow_private_addresses: true}` in the bot to allow it"
            )
    return list(dict.fromkeys(str(address) for address in found))


class HttpCalls:
    """The `http` block's activity, with the operator's flow limits (which `${VAR}` it may
    resolve, checked again here: a flow may have been published under a looser setting)."""

    def __init__(self, limits: FlowLimits, resolve: Resolver = system_resolver) -> None:
        self._limits = limits
        self._resolve = resolve

    @activity.defn(name="call_http")
    async def call_http(self, call: HttpCall) -> HttpResult:
        """One HTTP request; final failures come back as `ok: false` for the flow to branch on."""
        return await _call(call, os.environ, self._limits, self._resolve)


async def _call(
    call: HttpCall, env: Mapping[str, str], limits: FlowLimits, resolve: Resolver
) -> HttpResult:
    marked = [call.request.url, *call.request.headers.values()]
    try:
        request = _resolved(call.request, env, limits)
        addresses = await checked_addresses(request.url, call.allow_private_addresses, resolve)
        return await _send(request, addresses)
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


async def _send(request: HttpRequest, addresses: list[str]) -> HttpResult:
    """`request`, sent to the first of `addresses` that takes the connection, under its own
    host name (`Host` unless the flow sets one, SNI and the certificate check)."""
    reason = "no address"
    for address in addresses:
        try:
            return await _send_to(request, address)
        except _NotReached as exc:
            reason = str(exc)
    raise ApplicationError(reason)  # none took it: retried by policy


class _NotReached(Exception):
    """The connection to one address failed: the next may take it."""


@functools.cache
def _tls() -> ssl.SSLContext:
    """The certificates to trust: certifi's, or SSL_CERT_FILE/SSL_CERT_DIR when set (the
    client itself reads nothing of the environment: no proxy)."""
    return httpx.create_ssl_context(trust_env=True)


async def _send_to(request: HttpRequest, address: str) -> HttpResult:
    timeout = httpx.Timeout(request.timeout_seconds)
    body = request.body
    url = httpx.URL(request.url)
    headers = dict(request.headers)
    if not any(name.lower() == "host" for name in headers):
        headers["Host"] = url.netloc.decode("ascii")
    try:
        async with (
            httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()
            ) as client,
            client.stream(
                request.method,
                url.copy_with(host=address),
                headers=headers,
                json=body if body is not None and not isinstance(body, str) else None,
                content=body if isinstance(body, str) else None,
                extensions={"sni_hostname": url.raw_host.decode("ascii")},
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
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing sent: the next may take it
        raise _NotReached(f"{type(exc).__name__}: {exc}") from None
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
