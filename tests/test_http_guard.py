"""The flow's `http` block and the operator's network: which addresses count as public, and a
host resolved once, so the request goes to the address that was checked (no DNS rebinding)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
from temporalio.testing import ActivityEnvironment

from activities.http_call import (
    BlockedAddress,
    HttpCall,
    HttpCalls,
    checked_addresses,
    is_public,
    system_resolver,
)
from bots.limits import FlowLimits
from tests.live import json_server
from workflows.interpreter import HttpRequest


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("10.0.0.1", False),
        ("169.254.169.254", False),  # the clouds' metadata service
        ("2606:4700:4700::1111", True),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped: reaches 127.0.0.1
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::808:808", False),  # a network's own translator
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::a9fe:a9fe", False),  # IPv4-compatible 169.254.169.254
        ("::808:808", True),  # IPv4-compatible 8.8.8.8
        ("::", False),
        ("::1", False),
        ("::ffff:0:a9fe:a9fe", False),  # IPv4-translated (SIIT) 169.254.169.254
        ("::ffff:0:7f00:1", False),  # IPv4-translated 127.0.0.1
        ("::ffff:0:808:808", True),  # IPv4-translated 8.8.8.8
        ("fec0::1", False),  # site-local (deprecated)
        ("fc00::1", False),  # unique local
        ("ff02::1", False),  # multicast, link scope
        ("ff0e::1", False),  # multicast, global scope
        ("224.0.0.1", False),  # IPv4 multicast
        ("::ffff:239.255.255.250", False),  # IPv4 multicast, mapped
        ("100::1", False),  # discard-only
        ("2001:db8::1", False),  # documentation
        ("2001:0:a9fe:a9fe::", False),  # Teredo, server 169.254.169.254
        ("2001:0:808:808:0:0:80ff:fffe", False),  # Teredo, client 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", False),  # Teredo, both public: still refused
        ("2001:4860:4860::8888", True),  # Google Public DNS
        ("2620:fe::fe", True),  # Quad9
        ("2a03:2880:f12f:83:face:b00c:0:25de", True),  # Facebook
    ],
)
def test_an_address_is_public_by_where_it_leads(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://[::7f00:1]:8500/",
        "http://[::a9fe:a9fe]/latest/meta-data/",
        "http://[::ffff:0:a9fe:a9fe]/",
        "http://[fec0::1]/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    ],
)
async def test_ipv6_forms_of_private_addresses_are_refused(url: str) -> None:
    """Through the system's resolver: the host is a literal, so nothing leaves the machine."""
    with pytest.raises(BlockedAddress, match="a non-public address"):
        await checked_addresses(url, False, system_resolver)


class Resolver:
    """A resolver that answers once per name: a second lookup would be a rebinding's chance."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        assert host not in self.asked, f"{host} resolved twice"
        self.asked.append(host)
        return self.answers[host]


async def call(
    calls: HttpCalls, url: str, allow_private: bool, headers: dict[str, str] | None = None
) -> dict:
    request = HttpRequest(method="GET", url=url, headers=headers or {})
    result = await ActivityEnvironment().run(
        calls.call_http, HttpCall(request=request, allow_private_addresses=allow_private)
    )
    return result.model_dump()


async def test_the_request_goes_to_the_address_checked_under_its_own_name() -> None:
    seen: list[dict[str, str]] = []

    def answer(path: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        seen.append(headers)
        return {"ok": "sim"}

    with json_server(answer) as base:
        port = urlsplit(base).port
        resolver = Resolver({"crm.loja.test": ["127.0.0.1"]})  # a name no system resolves
        result = await call(
            HttpCalls(FlowLimits(), resolver), f"http://crm.loja.test:{port}/x", True
        )
    assert result["ok"] and result["body"] == {"ok": "sim"}, result
    assert resolver.asked == ["crm.loja.test"]
    assert [h["host"] for h in seen] == [f"crm.loja.test:{port}"]


async def test_the_next_address_is_tried_and_a_flows_own_host_is_kept() -> None:
    """A name with two addresses, the first refusing connections: the second takes the call,
    with the Host header the flow set itself (virtual hosting on a bare address)."""
    seen: list[dict[str, str]] = []

    def answer(path: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        seen.append(headers)
        return {"ok": "sim"}

    with json_server(answer) as base:
        port = urlsplit(base).port
        resolver = Resolver({"crm.loja.test": ["127.0.0.2", "127.0.0.1"]})  # .2: nobody there
        calls = HttpCalls(FlowLimits(), resolver)
        url = f"http://crm.loja.test:{port}/x"
        result = await call(calls, url, True, {"Host": "api.interna"})
    assert result["ok"], result
    assert [h["host"] for h in seen] == ["api.interna"]


async def test_a_name_with_any_private_address_is_refused_before_any_connection() -> None:
    seen: list[str] = []
    with json_server(lambda path, headers, body: seen.append(path) or {}) as base:
        port = urlsplit(base).port
        resolver = Resolver({"crm.loja.test": ["8.8.8.8", "127.0.0.1"]})
        result = await call(
            HttpCalls(FlowLimits(), resolver), f"http://crm.loja.test:{port}/", False
        )
    assert not result["ok"] and "127.0.0.1, a non-public address" in result["error"]
    assert seen == []
