"""The web chat's Content-Security-Policy lets in images from the queue cards' hosts only.

It let in any https host (`img-src ... https:`) so that a service's queue cards could show
their images (docs/omni.md): a page any script or style could fill with a tracking pixel from
anywhere. It now names the origins of the services' enabled card images (every service's: an
agent may transfer a customer to any service), read each time the page is served; no card
image, no other host at all. The browser side (the image shows, an
image of another host is blocked): tests/test_browser_chat_image_origins.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.routes.pages import CONTENT_SECURITY_POLICY
from api.usecases.chat_images import https_origin
from tests.conftest import admin_headers

pytestmark = pytest.mark.asyncio

H = admin_headers()
SELF = ["'self'", "data:", "blob:"]


def _carousel(*images: str | None, enabled: bool = True) -> dict[str, Any]:
    cards = [{"title": "Enquanto espera", "text": "Veja", "image_url": url} for url in images]
    return {"enabled": enabled, "interval_seconds": 60, "cards": cards}


def _images(response: httpx.Response) -> list[str]:
    policy = response.headers["content-security-policy"]
    [found] = [d.split()[1:] for d in policy.split(";") if d.split()[0] == "img-src"]
    return found


def _others(policy: str) -> list[str]:
    return [d.strip() for d in policy.split(";") if d.split()[0] != "img-src"]


async def _service(api: httpx.AsyncClient, name: str, notes: dict[str, Any]) -> str:
    made = await api.post(
        "/api/omni/services", json={"name": name, "queue_notifications": notes}, headers=H
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_the_chat_page_names_exactly_the_card_images_origins(admin_api) -> None:  # type: ignore[no-untyped-def]
    assert _images(await admin_api.get("/chat/loja")) == SELF  # no card anywhere: no other host

    suporte = await _service(
        admin_api,
        "Suporte",
        _carousel(
            "https://img.exemplo.com.br/a.png",
            "https://IMG.exemplo.com.br:443/b.png",  # the same origin, said once
            "https://cdn.exemplo.com:8443/c.png",
            None,
        ),
    )
    # Vendas: no bot hands over to it, but an agent may transfer a customer there
    await _service(admin_api, "Vendas", _carousel("https://vendas.exemplo.com/v.png"))
    await _service(admin_api, "Trocas", _carousel("https://off.exemplo.com/t.png", enabled=False))
    page = await admin_api.get("/chat/loja")
    assert _images(page) == [
        *SELF,
        "https://cdn.exemplo.com:8443",
        "https://img.exemplo.com.br",
        "https://vendas.exemplo.com",
    ]  # Trocas' carousel is off: never sent
    kept = _others(page.headers["content-security-policy"])
    assert kept == _others(CONTENT_SECURITY_POLICY)  # the other directives as every page's

    # the admin changes Suporte's card: the next page served lets in its new host, not the old
    changed = _carousel("https://novo.exemplo.com/a.png")
    patched = await admin_api.patch(
        f"/api/omni/services/{suporte}", json={"queue_notifications": changed}, headers=H
    )
    assert patched.status_code == 200, patched.text
    assert _images(await admin_api.get("/chat/loja")) == [
        *SELF,
        "https://novo.exemplo.com",
        "https://vendas.exemplo.com",
    ]
    for other in ("/bots", "/atendimento"):
        assert _images(await admin_api.get(other)) == SELF, other


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://img.exemplo.com.br/a/b.png?x=1", "https://img.exemplo.com.br"),
        ("HTTPS://Img.Exemplo.com.br:443/a.png", "https://img.exemplo.com.br"),
        ("https://127.0.0.1:8443/a.png", "https://127.0.0.1:8443"),
        ("https://usuario:senha@cdn.exemplo.com:8080/a", "https://cdn.exemplo.com:8080"),
        ("https://pão.exemplo.com/a.png", "https://xn--po-sia.exemplo.com"),  # IDNA, as browsers
        ("https://straße.de/a.png", "https://xn--strae-oqa.de"),  # UTS #46, as browsers map it
        ("https://good.com\\@evil.com/a.png", "https://good.com"),  # `\` is `/` to a browser
        ("http://img.exemplo.com.br/a.png", None),  # the chat shows no http image
        ("https://[::1]:8443/a.png", None),  # a CSP source cannot name an IPv6 literal
        ("https://ex%61mple.com/a.png", None),  # a browser reads another host
        ("https://exemplo.com./a.png", None),
        ("https://exemplo.com:99999/a.png", None),
        ("https://exemplo.com;script-src *", None),  # nothing else reaches the header
    ],
)
async def test_a_card_images_origin_as_a_csp_source(url: str, origin: str | None) -> None:
    assert https_origin(url) == origin
