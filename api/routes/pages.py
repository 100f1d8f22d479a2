"""The screens: HTML shells served by the API itself (data comes from the JSON API in the page)
and the static files they load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.stream_hub import LATE_MAX
from api.usecases.chat_images import card_image_origins
from workflows.contracts import MAX_TEXT_LENGTH

HERE = Path(__file__).parent.parent
"""The `api` folder: templates/ and static/ are beside the routers' folder."""
templates = Jinja2Templates(directory=HERE / "templates")
STARTER_FLOW = (HERE / "templates" / "starter_flow.yaml").read_text(encoding="utf-8")
"""The small pt-BR flow (with a Humano block) that "Criar novo bot" starts from."""

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PAGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "/": ("index.html", "Início", {}),
    "/omni/servicos": ("servicos.html", "Serviços", {"area": "omni", "section": "administrativo"}),
    "/omni/agentes": ("agentes.html", "Atendentes", {"area": "omni", "section": "administrativo"}),
    "/omni/respostas-rapidas": (
        "respostas_rapidas.html",
        "Respostas rápidas",
        {"area": "omni", "section": "administrativo"},
    ),
    "/omni/integracoes": (
        "integracoes.html",
        "Integrações",
        {"area": "omni", "section": "integracoes"},
    ),
    "/omni/integracoes/digital-contact-bots": (
        "digital_contact_bots.html",
        "Digital Contact Bots",
        {"area": "omni", "section": "integracoes"},
    ),
    "/omni/caixa-postal": (
        "caixa_postal.html",
        "Caixa Postal",
        {"area": "omni", "section": "caixa-postal"},
    ),
    "/supervisor": ("supervisor.html", "Supervisor", {"area": "omni", "section": "supervisor"}),
    "/bots": ("bots.html", "Bots", {"area": "bots", "section": "bots", "starter": STARTER_FLOW}),
    "/atendimento": (
        "atendimento.html",
        "Tela de Atendimento",
        {"area": "atendimento", "late_window": str(LATE_MAX), "max_text": str(MAX_TEXT_LENGTH)},
    ),
}
"""Path → (template, title, context): shells with no data in them, so they are public."""

FROM_SETTINGS: dict[str, dict[str, str]] = {"/supervisor": {"timezone": "supervisor_timezone"}}
"""Path → context key → the setting it shows: the supervisor's dates and times are the operator's
zone's, which the page names (and writes every time in) from the start, not only once the
first figures arrive (and not at all when they fail)."""


def _page(
    path: str, template: str, title: str, context: dict[str, str]
) -> Callable[[Request], HTMLResponse]:
    wanted = FROM_SETTINGS.get(path, {})

    def page(request: Request) -> HTMLResponse:
        settings = request.app.state.settings
        shown = {key: str(getattr(settings, field)) for key, field in wanted.items()}
        return _render(request, template, title=title, **context, **shown)

    return page


def _policy(images: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {images}",
            "media-src 'self' blob:",  # audio attachments (fetched with the token, shown as blob:)
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


CONTENT_SECURITY_POLICY = _policy("'self' data: blob:")  # favicon `data:,`; attachments: blob:
"""Scripts, styles, fetches and streams only from this origin: no inline script runs (the pages
pass values as data- attributes), no page may frame these screens."""


def chat_policy(card_origins: list[str]) -> str:
    """The web chat's: the same, and the images of its queue cards from their own hosts
    (`image_url`, https required while the carousel is on; docs/omni.md): only the origins of
    the services' cards (api/usecases/chat_images.py), none else."""
    return _policy(" ".join(["'self' data: blob:", *card_origins]))


PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _render(
    request: Request, template: str, *, policy: str = CONTENT_SECURITY_POLICY, **context: Any
) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context)
    response.headers.update({**PAGE_HEADERS, "Content-Security-Policy": policy})
    return response


for _path, (_template, _title, _context) in PAGES.items():
    router.add_api_route(_path, _page(_path, _template, _title, _context), methods=["GET"])


@router.get("/bots/{bot}/atendimento-humano")
def human_service_page(request: Request, bot: str) -> HTMLResponse:
    """Bots → (bot) → Atendimento Humano."""
    return _render(
        request,
        "atendimento_humano.html",
        title=f"Atendimento Humano — {bot}",
        bot=bot,
        area="bots",
        section="bots",
    )


@router.get("/bots/{bot}/canais")
def channels_page(request: Request, bot: str) -> HTMLResponse:
    """Bots → (bot) → Canais: the bot's WhatsApp and Telegram connectors."""
    return _render(
        request, "canais.html", title=f"Canais — {bot}", bot=bot, area="bots", section="bots"
    )


@router.get("/chat/{bot}")
def chat_page(request: Request, bot: str) -> HTMLResponse:
    """The web chat: a customer talks to `bot`; its box's limit is the one the API checks, its
    images from other hosts those of the services' queue cards now (read at every page served)."""
    origins = card_image_origins(request.app.state.engine)
    return _render(
        request,
        "chat.html",
        policy=chat_policy(origins),
        title=f"Chat — {bot}",
        bot=bot,
        max_text=str(MAX_TEXT_LENGTH),
    )


SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's files as the fastapi-offline package ships them (Swagger UI itself is
Apache-2.0; the package itself MIT, kept current, depends on FastAPI alone): /docs loads
nothing from a CDN, so the admin token pasted into "Authorize" meets only our origin's scripts,
and the page works offline. Not swagger-ui-bundle (Swagger UI 4.15, which cannot read FastAPI's
OpenAPI 3.1), nor swagger-ui-py (it installs a top-level `test` package over the standard
library's)."""


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """The HTTP API (Swagger UI over /openapi.json), with the screens' headers."""
    return _render(request, "api_docs.html", title="Transbordo — HTTP API")


class HtmlNotFound:
    """A browser that asks for a page that does not exist (GET or HEAD, outside /api/, accepting
    text/html) gets a small pt-BR page with the way home; API clients, and every /api/ path,
    keep the JSON `{detail, code}` (api/errors.py). Outside /api/ either 404 says `Vary: Accept`
    (a cache keeps the page and the JSON apart)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_be_page(scope):
            await self.app(scope, receive, send)
            return
        wants_page = _accepts_html(scope)
        replaced = False

        async def sending(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 404:
                if not wants_page:  # the JSON answer, as it was, and what it depends on
                    message.setdefault("headers", [])
                    MutableHeaders(scope=message).add_vary_header("Accept")
                    await send(message)
                    return
                replaced = True
                page = _not_found_page(scope["path"])
                headers = {**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"}
                headers["Content-Length"] = str(len(page))
                headers["Vary"] = "Accept"
                raw = [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
                ]
                await send({"type": "http.response.start", "status": 404, "headers": raw})
                body = page if scope["method"] == "GET" else b""
                await send({"type": "http.response.body", "body": body})
            elif not replaced:  # the JSON body of a replaced answer is dropped
                await send(message)

        await self.app(scope, receive, sending)


def _may_be_page(scope: Scope) -> bool:
    path: str = scope["path"]
    return scope["method"] in ("GET", "HEAD") and path != "/api" and not path.startswith("/api/")


def _accepts_html(scope: Scope) -> bool:
    return b"text/html" in dict(scope["headers"]).get(b"accept", b"")


def _not_found_page(path: str) -> bytes:
    page = templates.env.get_template("not_found.html")
    return page.render(title="Página não encontrada", path=path).encode()


def install(app: FastAPI) -> None:
    """Mount the static files and add the pages."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    app.include_router(router)
    app.add_middleware(HtmlNotFound)
