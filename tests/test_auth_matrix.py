"""Every route of the app needs its credential, except an explicit list of public ones.

A new route that answers without credentials fails this test until it is guarded or added to
PUBLIC on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI, routing
from starlette.routing import Mount

from store.tables import conversations, queue_entries
from tests.conftest import admin_headers

PUBLIC_EXACT = {
    # a browser asks for a web session (the server picks its contact; rate limited)
    ("POST", "/api/bots/{bot}/web-sessions"),
    ("GET", "/openapi.json"),
    # the probes (api/routes/health.py): states only, no version, no error text; no rate limit
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/docs"),  # Swagger UI from our origin (api/routes/pages.py); no ReDoc
    # the screens: HTML shells with no data (they call the API with the user's own token)
    ("GET", "/"),
    ("GET", "/omni/servicos"),
    ("GET", "/omni/agentes"),
    ("GET", "/omni/respostas-rapidas"),
    ("GET", "/omni/integracoes"),
    ("GET", "/omni/integracoes/digital-contact-bots"),
    ("GET", "/omni/caixa-postal"),
    ("GET", "/supervisor"),
    ("GET", "/bots"),
    ("GET", "/bots/{bot}/atendimento-humano"),
    ("GET", "/bots/{bot}/canais"),
    ("GET", "/atendimento"),
    ("GET", "/chat/{bot}"),
}
SIGNED = {
    # the channels' webhooks: no bearer token, the platform proves itself (docs/channels.md)
    ("POST", "/api/channels/whatsapp/{bot}"): 401,  # X-Hub-Signature-256 over the raw body
    ("POST", "/api/channels/telegram/{bot}"): 401,  # X-Telegram-Bot-Api-Secret-Token
    ("GET", "/api/channels/whatsapp/{bot}"): 403,  # the handshake: hub.verify_token
}
"""Routes authenticated by a signature or a shared secret instead of a credential: refused
(with that status) whatever bearer token comes, the admin's and an agent's included."""
PUBLIC_PREFIXES: tuple[str, ...] = ()
"""Nothing else: the channel routes need a connector credential or a web session (see
tests/test_channel_identity.py for who reaches which conversation)."""

WRONG = [
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": "Basic YWRtaW46YWRtaW4="},
    {"Authorization": "Bearer "},
]


def is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def endpoints(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI >= 0.16x nests them)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    for route in contexts(app.routes) if contexts else app.routes:
        if isinstance(getattr(route, "original_route", route), Mount):
            continue  # static files (agent screen, web chat assets)
        assert route.path and route.methods is not None, route
        for method in sorted(route.methods):
            if method != "HEAD":
                yield method, route.path


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.fixture
async def app_and_api(settings, engine, time_env):  # type: ignore[no-untyped-def]
    from api.app import create_app
    from tests.conftest import api_client, pydantic_client

    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app, connector=False) as api:
        yield app, api


async def test_every_route_needs_its_credential(app_and_api) -> None:  # type: ignore[no-untyped-def]
    app, api = app_and_api
    agent = await api.post("/api/omni/agents", json={"name": "Ana"}, headers=admin_headers())
    agent_auth = {"Authorization": f"Bearer {agent.json()['token']}"}
    boss = await api.post(
        "/api/omni/agents", json={"name": "Carla", "supervisor": True}, headers=admin_headers()
    )
    supervisor_auth = {"Authorization": f"Bearer {boss.json()['token']}"}
    customers = await customer_credentials(api)
    guarded = {"omni": 0, "agent": 0, "supervisor": 0, "other": 0}
    for method, path in endpoints(app):
        if is_public(method, path) or (method, path) in SIGNED:
            continue
        url = concrete(path)
        kind = path.split("/")[2] if path.startswith("/api/") else "other"
        kind = kind if kind in guarded else "other"
        # the admin token does not open agent routes; an agent token (a supervisor's included)
        # opens no admin route; a supervisor route is the admin's and the supervisors'
        # and a customer's web session or a bot's connector credential opens no desk route
        others = {
            "agent": [admin_headers(), *customers],
            "supervisor": customers,
            "omni": [agent_auth, supervisor_auth, *customers],
        }.get(kind, [agent_auth, supervisor_auth])
        for headers in [{}, *WRONG, *others]:
            # a stale If-Match says nothing before the credential does (api/preconditions.py)
            stale = {**headers, "If-Match": '"0"'}
            response = await api.request(method, url, headers=stale, json={})
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers.get("www-authenticate") == "Bearer"
            assert response.json()["code"] == "unauthorized"
        if kind == "supervisor":
            # a plain agent is known but not allowed; a supervisor and the admin get through
            response = await api.request(method, url, headers=agent_auth, json={})
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["code"] == "not_a_supervisor"
            for headers in (supervisor_auth, admin_headers()):
                response = await api.request(method, url, headers=headers, json={})
                assert response.status_code not in (401, 403), (method, path, response.text)
        guarded[kind] += 1
    assert guarded["omni"] >= 15 and guarded["agent"] >= 2, guarded
    assert guarded["supervisor"] >= 15, guarded


WEB_BOT = """
bot: loja
channels: {web: true}
start: fim
blocks:
  fim: {type: end, text: Até logo!}
"""


async def customer_credentials(api) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """A web chat's session and a connector's credential for bot `loja`: the channel routes'."""
    headers = {**admin_headers(), "Content-Type": "text/yaml"}
    published = await api.put("/api/bots/loja", content=WEB_BOT, headers=headers)
    assert published.status_code in (200, 201), published.text
    session = await api.post("/api/bots/loja/web-sessions")
    assert session.status_code == 201, session.text
    made = await api.post(
        "/api/bots/loja/channel-credentials", json={"name": "CRM"}, headers=admin_headers()
    )
    assert made.status_code == 201, made.text
    return [{"Authorization": f"Bearer {answer.json()['token']}"} for answer in (session, made)]


async def test_a_supervisor_reaches_only_conversations_of_its_services(app_and_api, engine) -> None:  # type: ignore[no-untyped-def]
    """Every supervisor route on a conversation: Carla supervises Suporte, the conversation is
    Vendas' (waiting in its queue): 403 `outside_supervisor_scope`; the admin gets through."""
    app, api = app_and_api
    admin = admin_headers()
    ids = {}
    for name in ("Suporte", "Vendas"):
        made = await api.post("/api/omni/services", json={"name": name}, headers=admin)
        ids[name] = made.json()["id"]
    boss = await api.post(
        "/api/omni/agents",
        json={"name": "Carla", "services": ["Suporte"], "supervisor": True},
        headers=admin,
    )
    carla = {"Authorization": f"Bearer {boss.json()['token']}"}
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            conversations.insert().values(
                id="x", workflow_id="w", bot="loja", bot_version=1, contact_id="5511",
                status="waiting", created_at=now, updated_at=now,
            )
        )  # fmt: skip
        conn.execute(
            queue_entries.insert().values(
                id="q1", conversation_id="x", workflow_id="w", service_id=ids["Vendas"],
                status="in_service", enqueued_at=now, picked_up_at=now,
            )
        )  # fmt: skip
    routes = [
        (method, path)
        for method, path in endpoints(app)
        if path.startswith("/api/supervisor/conversations/{conversation_id}/")
    ]
    assert len(routes) >= 5, routes
    for method, path in [*routes, ("GET", "/api/supervisor/actions?conversation_id={x}")]:
        body = {"text": "x", "agent": "a"} if method == "POST" else None
        response = await api.request(method, concrete(path), headers=carla, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "outside_supervisor_scope"
    seen = await api.get("/api/supervisor/conversations/x/messages", headers=admin)
    assert seen.status_code == 200 and seen.json() == []


async def test_signed_routes_refuse_every_bearer_credential(app_and_api) -> None:  # type: ignore[no-untyped-def]
    app, api = app_and_api
    agent = await api.post("/api/omni/agents", json={"name": "Ana"}, headers=admin_headers())
    agent_auth = {"Authorization": f"Bearer {agent.json()['token']}"}
    present = set(endpoints(app))
    assert present >= set(SIGNED), set(SIGNED) - present
    for (method, path), refused in SIGNED.items():
        for headers in [{}, *WRONG, admin_headers(), agent_auth]:
            response = await api.request(method, concrete(path), headers=headers, json={})
            assert response.status_code == refused, (method, path, headers, response.text)
            assert response.json()["code"] in ("unauthorized", "forbidden")


async def test_the_right_credential_opens_them(app_and_api) -> None:  # type: ignore[no-untyped-def]
    _, api = app_and_api
    assert (await api.get("/api/omni/services", headers=admin_headers())).status_code == 200
    agent = await api.post("/api/omni/agents", json={"name": "Ana"}, headers=admin_headers())
    auth = {"Authorization": f"Bearer {agent.json()['token']}"}
    assert (await api.get("/api/agent/me", headers=auth)).status_code == 200


async def test_no_admin_token_configured_locks_admin_routes(settings, engine, time_env) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app
    from tests.conftest import api_client, pydantic_client

    app = create_app(
        settings.model_copy(update={"admin_token": None}),
        engine=engine,
        client=pydantic_client(time_env),
    )
    async with api_client(app) as api:
        response = await api.get("/api/omni/services", headers={"Authorization": "Bearer "})
        assert response.status_code == 401
        response = await api.get("/api/omni/services", headers={"Authorization": "Bearer None"})
        assert response.status_code == 401


def test_public_list_names_real_routes() -> None:
    """The allowlist is not stale: each exact public entry is a route of the app."""
    from api.app import create_app

    present = set(endpoints(create_app()))
    assert present >= PUBLIC_EXACT, PUBLIC_EXACT - present


DESK_MEDIA_ROUTES = {
    ("POST", "/api/bots/{bot}/attachments"),
    ("GET", "/api/conversations/{conversation_id}/attachments/{attachment_id}"),
    ("POST", "/api/agent/conversations/{conversation_id}/attachments"),
    ("GET", "/api/agent/attachments/{attachment_id}"),
    ("POST", "/api/conversations/{conversation_id}/typing"),
    ("POST", "/api/agent/conversations/{conversation_id}/typing"),
}
"""Issue 14 items 4 and 5: guarded by the sweep above (none is public or signed)."""


def test_desk_media_routes_are_swept() -> None:
    from api.app import create_app

    present = set(endpoints(create_app()))
    assert present >= DESK_MEDIA_ROUTES, DESK_MEDIA_ROUTES - present
    assert not any(is_public(m, p) or (m, p) in SIGNED for m, p in DESK_MEDIA_ROUTES)
