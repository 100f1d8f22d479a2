"""The other hosts the web chat loads images from: the origins (scheme://host[:port]) of the
services' queue cards' https images (store/card_images.py), which the chat page's
Content-Security-Policy names in its `img-src` (api/routes/pages.py). Read each time the page
is served, so a page served after the admin changes a card's image lets the new host in; no
card image, no host.

A URL whose origin cannot be written as a CSP source (an IPv6 literal, a host the browser
would read otherwise: percent-escapes, a trailing dot) adds none: its image stays blocked, and
nothing the admin typed reaches the header but letters, digits, dots, hyphens and the port."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import idna
from sqlalchemy import Engine

from store.card_images import card_image_urls

_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")
"""A host a CSP source may name as it is (ASCII: an internationalised name as its IDNA form)."""
DEFAULT_PORT = 443


def card_image_origins(engine: Engine) -> list[str]:
    """The https origins of the card images a web chat may show, sorted, each once."""
    urls = card_image_urls(engine)
    return sorted({origin for url in urls if (origin := https_origin(url)) is not None})


def https_origin(url: str) -> str | None:
    """`https://host[:port]` of an https URL (the default port left out), else None: the host
    as a browser reads it (WHATWG: `\\` is `/` in an https URL; names mapped by UTS #46, as
    `straße.de` → `xn--strae-oqa.de`)."""
    parts = urlsplit(url.replace("\\", "/"))
    try:
        port = parts.port
        host = idna.encode(parts.hostname or "", uts46=True).decode("ascii")
    except (ValueError, UnicodeError):  # a port out of range; a label IDNA refuses; no host
        return None
    if parts.scheme.lower() != "https" or not _HOST.fullmatch(host):
        return None
    return f"https://{host}" if port in (None, DEFAULT_PORT) else f"https://{host}:{port}"
