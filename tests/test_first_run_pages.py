"""What a newcomer meets at the pages, over real HTTP (QA's first-run findings).

/docs loaded Swagger UI from a CDN (a version range, no integrity) with none of the screens'
headers: the admin token pasted into "Authorize" met a third-party script on our origin, and
offline the page was blank. It is now served from our origin (the fastapi-offline package's
copy) with the screens' Content-Security-Policy; FastAPI's ReDoc, which loads from CDNs too, is
not served. An unknown page (`/naoexiste`) showed a browser raw JSON: it gets a pt-BR page, while
API clients keep `{detail, code}`. A queue card's image (`image_url`) never showed in the web
chat (its CSP allowed no other host's image): the chat page lets https images in, and an
enabled carousel's card is saved only with an https image.

Review of that change: a service kept with an http image while its carousel is off saves again
as it reads (read-modify-write); the schema says the https rule; both 404s of a page path say
`Vary: Accept`.
"""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from api.routes.pages import CONTENT_SECURITY_POLICY
from store.tables import services
from tests.conftest import admin_headers

pytestmark = pytest.mark.asyncio

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
"""What Chromium sends for a page typed in the address bar."""
CARD = {"title": "Enquanto espera", "text": "Veja nosso site"}


def _screen_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_docs_come_from_our_own_origin_with_the_screens_headers(admin_api) -> None:  # type: ignore[no-untyped-def]
    page = await admin_api.get("/docs", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    _screen_headers(page)
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "cdn.jsdelivr.net" not in page.text and "https://" not in page.text
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(loaded)
    kinds = {".js": "text/javascript", ".css": "text/css"}
    for path in loaded:
        if path.startswith("data:"):
            continue  # the empty favicon
        assert path.startswith("/"), path  # this origin only
        asset = await admin_api.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["content-type"].startswith(kinds[path[path.rindex(".") :]]), path
    assert "<script>" not in page.text  # no inline script: the CSP would stop it
    assert (await admin_api.get("/openapi.json")).status_code == 200
    redoc = await admin_api.get("/redoc", headers={"Accept": "application/json"})
    assert redoc.status_code == 404  # its script and fonts would come from CDNs


async def test_an_unknown_page_is_said_in_ptbr_to_a_browser_and_in_json_to_a_client(
    admin_api,
) -> None:  # type: ignore[no-untyped-def]
    page = await admin_api.get("/naoexiste", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    _screen_headers(page)
    assert "<h1>Página não encontrada</h1>" in page.text
    assert "<code>/naoexiste</code>" in page.text and 'href="/"' in page.text
    assert page.headers["vary"] == "Accept"  # the same address answers JSON to a client
    head = await admin_api.head("/naoexiste", headers=HTML)
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["vary"] == "Accept"

    strange = await admin_api.get("/<b>x</b>", headers=HTML)
    assert "<b>x</b>" not in strange.text and "&lt;b&gt;x&lt;/b&gt;" in strange.text

    for path, headers in (
        ("/naoexiste", {"Accept": "application/json"}),
        ("/naoexiste", {}),
        ("/api/naoexiste", HTML),  # the API's paths answer JSON whoever asks
    ):
        answer = await admin_api.get(path, headers=headers)
        assert answer.status_code == 404, path
        assert answer.json() == {"detail": "Not Found", "code": "not_found"}, path
        varies = answer.headers.get("vary")
        assert varies == (None if path.startswith("/api/") else "Accept"), path
    refused = await admin_api.post("/naoexiste", headers=HTML)
    assert refused.json()["code"] == "not_found"


async def test_a_cards_image_is_saved_only_on_https_and_the_chat_page_shows_those(  # type: ignore[no-untyped-def]
    admin_api, engine
) -> None:
    H = admin_headers()
    plain = {"cards": [{**CARD, "image_url": "http://example.com/a.png"}], "enabled": True}
    refused = await admin_api.post(
        "/api/omni/services", json={"name": "Suporte", "queue_notifications": plain}, headers=H
    )
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "queue_notifications", "cards", 0, "image_url"]
    assert problem["type"] == "url_not_https" and "https://" in problem["msg"]

    secure = {"cards": [{**CARD, "image_url": "https://example.com/a.png"}], "enabled": True}
    made = await admin_api.post(
        "/api/omni/services", json={"name": "Suporte", "queue_notifications": secure}, headers=H
    )
    assert made.status_code == 201, made.text
    service = made.json()
    changed = await admin_api.patch(
        f"/api/omni/services/{service['id']}", json={"queue_notifications": plain}, headers=H
    )
    assert changed.status_code == 422
    assert changed.json()["detail"][0]["type"] == "url_not_https"

    # a card saved before the rule, with an http image, still reads (and is refused at its
    # next save while the carousel is on, above)
    with engine.begin() as db:
        db.execute(sa.update(services).values(queue_notifications=plain))
    listed = await admin_api.get("/api/omni/services", headers=H)
    assert listed.status_code == 200, listed.text
    assert listed.json()[0]["queue_notifications"]["cards"][0]["image_url"].startswith("http:")

    # the carousel off, such a service saves again as it reads (a client's read-modify-write,
    # the Serviços form); turning it on asks for https
    off = {**plain, "enabled": False}
    with engine.begin() as db:
        db.execute(sa.update(services).values(queue_notifications=off))
    [read] = (await admin_api.get("/api/omni/services", headers=H)).json()
    keys = ("name", "answer_time_seconds", "queue_notifications", "webhook", "care", "wrapup")
    body = {key: read[key] for key in keys} | {"answer_time_seconds": 45}
    body["webhook"] = {k: v for k, v in read["webhook"].items() if k != "has_secret"}
    saved = await admin_api.patch(f"/api/omni/services/{read['id']}", json=body, headers=H)
    assert saved.status_code == 200, saved.text
    assert saved.json()["queue_notifications"] == read["queue_notifications"]
    assert saved.json()["queue_notifications"]["cards"][0]["image_url"].startswith("http:")
    on = {**body, "queue_notifications": {**off, "enabled": True}}
    refused = await admin_api.patch(f"/api/omni/services/{read['id']}", json=on, headers=H)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "image_url"

    chat = await admin_api.get("/chat/loja", headers=HTML)
    images = _directive(chat.headers["content-security-policy"], "img-src")
    assert images == ["'self'", "data:", "blob:"]  # its carousel is off: no other host
    for other in ("/bots", "/atendimento", "/docs"):
        page = await admin_api.get(other, headers=HTML)
        assert _directive(page.headers["content-security-policy"], "img-src") == [
            "'self'",
            "data:",
            "blob:",
        ], other


def _directive(policy: str, name: str) -> list[str]:
    [found] = [d.split()[1:] for d in policy.split(";") if d.split()[0] == name]
    return found


async def test_the_schema_says_an_enabled_carousels_images_are_https(admin_api) -> None:  # type: ignore[no-untyped-def]
    schema = (await admin_api.get("/openapi.json")).json()["components"]["schemas"]
    image = schema["CardIn"]["properties"]["image_url"]
    assert image["description"].startswith("https:// when the carousel is enabled")
    assert "url_not_https" in image["description"]
    assert "description" not in schema["Card"]["properties"]["image_url"]  # what reads: any
