"""The front door's limits, wired into the app: body sizes, open streams, rate limits.

Rules per client address are a route dependency, counted before anything else (even a request
with no credential): ``dependencies=[limit("messages per address")]``. Rules per contact and
per bot are counted by the route with `hit` (a bot's messages with `hit_bot`), once the caller is
known to speak for that contact of that bot, so nobody can spend another customer's or a bot's
allowance. Each rule is a setting (docs/limits.md).

A client address is counted by its key (api/client_keys.py): an IPv6 host by its /64, since it
may speak from any address of it.

The counters live in `TRANSBORDO_RATE_LIMIT_STORAGE` (memory:// per process, redis:// shared by
replicas); a refusal is a 429 with `Retry-After` (api/errors.py).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam

from api.body_limit import BodySizeLimit
from api.client_keys import rate_limit_key
from api.rate_limits import RateLimiter
from api.stream_cap import StreamCap
from transbordo.settings import Settings

RULES: dict[str, str] = {
    "requests per address": "rate_limit_per_address",
    "messages per address": "rate_limit_messages_per_address",
    "messages per contact": "rate_limit_messages_per_contact",
    "messages per bot": "rate_limit_messages_per_bot",
    "web messages per bot": "rate_limit_web_messages_per_bot",
    "sessions per address": "rate_limit_sessions_per_address",
    "failed signatures per address": "rate_limit_failed_signatures_per_address",
    "typing per conversation": "rate_limit_typing_per_conversation",
}
"""Rule name → the setting with its `limits` expression."""


def install(app: FastAPI, settings: Settings) -> None:
    """The limiter for `limit(...)` and the two middlewares (body size outermost)."""
    app.state.rate_limit_ipv6_prefix = settings.rate_limit_ipv6_prefix
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_storage,
        {name: getattr(settings, field) for name, field in RULES.items()},
    )
    app.add_middleware(StreamCap, settings=settings)
    app.add_middleware(BodySizeLimit, settings=settings)


def limit(*rules: str) -> DependsParam:
    """A dependency counting one hit of each rule per client address (the one key known before
    the route runs); the first one over its limit is a 429. Contact and bot rules are counted
    by the route with `hit`, once the caller is known."""
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise ValueError(f"unknown rate-limit rules {unknown}; known: {list(RULES)}")
    not_per_address = [rule for rule in rules if not rule.endswith("per address")]
    if not_per_address:
        raise ValueError(f"{not_per_address} are counted by their route (`hit`)")

    async def check(request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        address = client_address(request)
        for rule in rules:
            await limiter.hit(rule, address)

    check.__name__ = "limit_" + "_".join(r.replace(" ", "_") for r in rules)
    dependency: DependsParam = Depends(check)
    return dependency


async def hit(request: Request, rule: str, key: str) -> None:
    """Count one hit of `rule` for a key the route settled (the contact a caller is known to
    speak for, the bot): counted after authentication, so strangers cannot spend it."""
    await request.app.state.rate_limiter.hit(rule, key)


async def hit_bot(request: Request, bot: str, *, web: bool) -> None:
    """Count one customer message (or file) to `bot`, once the caller is known to speak for it:
    a web session's (`web`) under "web messages per bot", a connector's under "messages per
    bot". Anyone can open web sessions, so their flood uses up the web chat's share only, never
    the budget of the bot's connectors (`tbc_…`; the channels' webhooks count under no rule
    per bot)."""
    await hit(request, "web messages per bot" if web else "messages per bot", bot)


async def check(request: Request, rule: str, key: str) -> None:
    """A 429 when `key` is already over `rule`, counting nothing (the route `hit`s on failure:
    a rule of failures only, such as the channels' webhooks' bad signatures)."""
    await request.app.state.rate_limiter.check(rule, key)


def client_address(request: Request) -> str:
    """The key the request's client address is counted under (api/client_keys.py)."""
    host = request.client.host if request.client else "unknown"
    return rate_limit_key(host, request.app.state.rate_limit_ipv6_prefix)
