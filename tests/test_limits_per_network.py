"""The front door's limits against one IPv6 host and against anonymous web traffic.

An IPv6 host owns a whole /64 (often a /56) and may speak from any address in it: the limits
per address count an IPv6 address by its /64 (`rate_limit_ipv6_prefix`), an IPv4-mapped one
as its IPv4 address, so one host cannot mint unlimited sessions, streams or messages by
changing the low bits. Before, each address of the /64 had its own allowance (15 addresses of
one /64: 15 sessions where one address got 10).

Web sessions can be opened by anyone: their messages count under "web messages per bot", so a
flood of them exhausts the web chat's share and never the bot's connectors' "messages per
bot". Before, web messages spent "messages per bot", and the flood locked every connector
customer of the bot out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.client_keys import rate_limit_key
from tests.conftest import admin_headers, api_client, pydantic_client, running_stack
from tests.live import DEADLINE_SECONDS, serving
from tests.test_web_chat_sessions import FLOW
from transbordo.settings import Settings

SESSIONS = "/api/bots/loja/web-sessions"
From = Callable[[str], httpx.AsyncClient]


def test_an_address_is_counted_by_its_key() -> None:
    assert rate_limit_key("192.0.2.1") == "192.0.2.1"
    assert rate_limit_key("2001:db8::1") == rate_limit_key("2001:db8::ffff:1:2:3")
    assert rate_limit_key("2001:db8::1") == "2001:db8::/64"
    assert rate_limit_key("2001:db8:0:1::1") == "2001:db8:0:1::/64"
    assert rate_limit_key("2001:db8:0:1::1", 56) == rate_limit_key("2001:db8:0:ff::1", 56)
    assert rate_limit_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert rate_limit_key("unknown") == "unknown"
    assert rate_limit_key("fe80::1%eth0") == "fe80::/64"


@pytest.mark.parametrize("prefix", [31, 129])
def test_the_ipv6_prefix_setting_is_bounded(prefix: int) -> None:
    with pytest.raises(ValidationError, match="rate_limit_ipv6_prefix"):
        Settings(rate_limit_ipv6_prefix=prefix)


@asynccontextmanager
async def addresses(settings: Settings, engine, time_env) -> AsyncIterator[From]:  # type: ignore[no-untyped-def]
    """The app with the web bot published; yields a client per client address (real HTTP
    semantics over ASGI, the address being what uvicorn gives the app behind a trusted proxy)."""
    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app, connector=False) as http, AsyncExitStack() as clients:
        put = await http.put(
            "/api/bots/loja", content=FLOW, headers={**admin_headers(), "Content-Type": "text/yaml"}
        )
        assert put.status_code in (200, 201), put.text

        def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            client = httpx.AsyncClient(transport=transport, base_url=http.base_url)
            clients.push_async_callback(client.aclose)
            return client

        yield client_from


async def sessions(client: httpx.AsyncClient, n: int = 1) -> list[int]:
    return [(await client.post(SESSIONS)).status_code for _ in range(n)]


async def test_the_addresses_of_one_ipv6_64_share_their_allowance(
    settings, engine, time_env
) -> None:
    strict = settings.model_copy(update={"rate_limit_sessions_per_address": "3/minute"})
    async with addresses(strict, engine, time_env) as client_from:
        host = [client_from(f"2001:db8::{n:x}") for n in range(1, 5)]
        assert [await sessions(c) for c in host] == [[201], [201], [201], [429]]
        refused = await host[0].post(SESSIONS)
        assert (refused.json()["code"], refused.json()["limit"]) == (
            "too_many_sessions",
            "sessions per address",
        )
        # another /64 (the next network up) has its own
        assert await sessions(client_from("2001:db8:0:1::1"), 3) == [201, 201, 201]


async def test_the_prefix_is_a_setting(settings, engine, time_env) -> None:
    strict = settings.model_copy(
        update={"rate_limit_sessions_per_address": "1/minute", "rate_limit_ipv6_prefix": 56}
    )
    async with addresses(strict, engine, time_env) as client_from:
        assert await sessions(client_from("2001:db8:0:1::1")) == [201]
        assert await sessions(client_from("2001:db8:0:ff::1")) == [429]  # the same /56
        assert await sessions(client_from("2001:db8:0:100::1")) == [201]  # the next /56


async def test_an_ipv4_mapped_address_counts_as_its_ipv4(settings, engine, time_env) -> None:
    strict = settings.model_copy(update={"rate_limit_messages_per_address": "2/minute"})
    async with addresses(strict, engine, time_env) as client_from:
        mapped, plain = client_from("::ffff:192.0.2.1"), client_from("192.0.2.1")
        body = {"contact_id": "c", "message_id": "m", "text": "oi"}
        # no credential: a 401, counted by the rule per address before anything else
        assert (await mapped.post("/api/bots/loja/messages", json=body)).status_code == 401
        assert (await plain.post("/api/bots/loja/messages", json=body)).status_code == 401
        refused = await mapped.post("/api/bots/loja/messages", json=body)
        assert (refused.status_code, refused.json()["limit"]) == (429, "messages per address")
        other = await client_from("192.0.2.2").post("/api/bots/loja/messages", json=body)
        assert other.status_code == 401


async def test_open_streams_of_one_ipv6_64_share_their_cap(time_env, settings, engine) -> None:
    """Behind a trusted proxy (uvicorn trusts 127.0.0.1 by default): X-Forwarded-For gives
    the customer's address, as in production."""
    capped = settings.model_copy(update={"max_streams_per_address": 1})
    async with running_stack(time_env, capped, engine, FLOW) as http:
        body = {"contact_id": "5511", "message_id": "m1", "text": "oi"}
        turn = (await http.post("/api/bots/loja/messages", json=body)).json()
        path = f"/api/conversations/{turn['conversation_id']}/stream"
        app = create_app(capped, engine=engine, client=pydantic_client(time_env))
        async with (
            serving(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=DEADLINE_SECONDS, auth=http.auth) as real,
        ):

            def via(address: str) -> dict[str, str]:
                return {"X-Forwarded-For": address}

            async with real.stream("GET", path, headers=via("2001:db8::1")) as first:
                assert first.status_code == 200
                async with real.stream("GET", path, headers=via("2001:db8::2")) as same:
                    assert same.status_code == 429  # (an open stream, before: never read)
                    await same.aread()
                    assert same.json()["limit"] == "open streams per address"
                async with real.stream("GET", path, headers=via("2001:db8:0:1::1")) as other:
                    assert other.status_code == 200
            async with real.stream("GET", path, headers=via("192.0.2.1")) as first:
                assert first.status_code == 200
                async with real.stream("GET", path, headers=via("::ffff:192.0.2.1")) as mapped:
                    assert mapped.status_code == 429


async def test_web_sessions_spend_their_own_share_of_a_bot_not_the_connectors(
    time_env, settings, engine
) -> None:
    strict = settings.model_copy(
        update={
            "rate_limit_web_messages_per_bot": "2/minute",
            "rate_limit_messages_per_bot": "2/minute",
        }
    )
    async with running_stack(time_env, strict, engine, FLOW) as http:

        async def web_message(n: int) -> httpx.Response:
            opened = await http.post(SESSIONS, auth=None)
            assert opened.status_code == 201, opened.text
            token = {"Authorization": f"Bearer {opened.json()['token']}"}
            body = {"message_id": f"w{n}", "text": "oi"}
            return await http.post("/api/bots/loja/messages", json=body, headers=token)

        for n in range(2):
            assert (await web_message(n)).status_code == 200
        refused = await web_message(2)
        assert refused.status_code == 429, refused.text
        assert (refused.json()["code"], refused.json()["limit"]) == (
            "rate_limited",
            "web messages per bot",
        )
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # the bot's connector still has its whole allowance
        for n in range(2):
            body = {"contact_id": f"5511{n}", "message_id": f"c{n}", "text": "oi"}
            answer = await http.post("/api/bots/loja/messages", json=body)
            assert answer.status_code == 200, answer.text
