"""The front door's limits, wired into the app: body sizes, open streams, rate limits.

Routes opt into rate limits with a dependency, e.g.
``@router.post(..., dependencies=[limit("messages per address", "messages per bot")])``.
Each rule is a setting (docs/limits.md); its key comes from the request:

    ... per address   the client address (request.client.host)
    ... per bot       the `bot` path parameter
    ... per contact   the body's `contact_id`; else the bearer token (a web session is bound
                      to one contact); else the client address

The counters live in `TRANSBORDO_RATE_LIMIT_STORAGE` (memory:// per process, redis:// shared by
replicas); a refusal is a 429 with `Retry-After` (api/errors.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam

from api.body_limit import BodySizeLimit
from api.rate_limits import RateLimiter
from api.stream_cap import StreamCap
from transbordo.settings import Settings

RULES: dict[str, str] = {
    "requests per address": "rate_limit_per_address",
    "messages per address": "rate_limit_messages_per_address",
    "messages per contact": "rate_limit_messages_per_contact",
    "messages per bot": "rate_limit_messages_per_bot",
    "sessions per address": "rate_limit_sessions_per_address",
}
"""Rule name → the setting with its `limits` expression."""


def install(app: FastAPI, settings: Settings) -> None:
    """The limiter for `limit(...)` and the two middlewares (body size outermost)."""
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_storage,
        {name: getattr(settings, field) for name, field in RULES.items()},
    )
    app.add_middleware(StreamCap, settings=settings)
    app.add_middleware(BodySizeLimit, settings=settings)


def limit(*rules: str) -> DependsParam:
    """A dependency counting one hit of each rule; the first one over its limit is a 429."""
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise ValueError(f"unknown rate-limit rules {unknown}; known: {list(RULES)}")

    async def check(request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        for rule in rules:
            await limiter.hit(rule, await _key(request, rule))

    check.__name__ = "limit_" + "_".join(r.replace(" ", "_") for r in rules)
    dependency: DependsParam = Depends(check)
    return dependency


async def hit(request: Request, rule: str, key: str) -> None:
    """Count one hit of `rule` for a key the route knows (e.g. the contact of a session)."""
    await request.app.state.rate_limiter.hit(rule, key)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _key(request: Request, rule: str) -> str:
    keys: dict[str, Callable[[Request], Coroutine[Any, Any, str]]] = {
        "address": _by_address,
        "bot": _by_bot,
        "contact": _by_contact,
    }
    return await keys[rule.rsplit(" ", 1)[-1]](request)


async def _by_address(request: Request) -> str:
    return client_address(request)


async def _by_bot(request: Request) -> str:
    return str(request.path_params.get("bot", ""))


async def _by_contact(request: Request) -> str:
    """The body's contact id (already parsed and cached by FastAPI), else the credential."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    contact = body.get("contact_id") if isinstance(body, dict) else None
    if isinstance(contact, str):
        return "contact:" + contact
    authorization = request.headers.get("authorization")
    if authorization:
        return "credential:" + hashlib.sha256(authorization.encode()).hexdigest()
    return "address:" + client_address(request)
