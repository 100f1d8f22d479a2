"""The key a client address is counted under by the limits per address.

An IPv4 address is one customer's (or one NAT's) address; an IPv6 host is given a whole /64 (often
a /56) and may speak from any address in it, so keying on the full address would give it millions
of allowances. IPv6 addresses are therefore counted by their prefix (`rate_limit_ipv6_prefix`, /64
by default); an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, a dual-stack socket's view of an
IPv4 client) counts as its IPv4 address; anything that is not an address ("unknown", a test
client's name) is its own key. Used by the rate limits (api/limits.py) and the open-stream cap
(api/stream_cap.py) alike.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

DEFAULT_IPV6_PREFIX = 64


@lru_cache(maxsize=4096)
def rate_limit_key(address: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """`address`'s key: an IPv4 address as is, an IPv6 one as its `/ipv6_prefix` network
    (`2001:db8::/64`), an IPv4-mapped one as its IPv4 address, anything unparsable as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv4Address):
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    host_bits = 128 - ipv6_prefix
    network = ipaddress.IPv6Address(int(ip) >> host_bits << host_bits)
    return f"{network}/{ipv6_prefix}"
