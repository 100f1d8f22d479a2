"""Integrations ("Digital Contact Bots"): API keys shown once, masked, revocable, rotatable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omni.keys import hash_key
from omni.models import IntegrationCreate, ServiceCreate
from store.integrations import (
    create_integration,
    key_warning,
    resolve_integration,
    revoke_integration,
)
from store.services import create_service, delete_service, find_service
from tests.conftest import admin_headers
from transbordo.stack import stack_ring

H = admin_headers()


async def service(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await api.post("/api/omni/services", json={"name": name}, headers=H)
    assert response.status_code == 201, response.text
    return response.json()


async def integrate(api: httpx.AsyncClient, service: str, bot: str = "loja") -> dict[str, Any]:
    body = {"service": service, "bot": bot}
    response = await api.post("/api/omni/integrations", json=body, headers=H)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_shows_key_once_then_masked(any_admin_api: httpx.AsyncClient) -> None:
    suporte = await service(any_admin_api, "Suporte")
    created = await integrate(any_admin_api, "Suporte")
    key = created["api_key"]
    assert key.startswith("tbk_") and len(key) > 40
    assert created["id"].startswith("int_")
    assert created["service"] == "Suporte" and created["service_id"] == suporte["id"]
    assert created["bot"] == "loja" and created["created_at"]
    assert key.startswith(created["key_prefix"]) and len(created["key_prefix"]) == 12

    listed = await any_admin_api.get("/api/omni/integrations", headers=H)
    assert key not in listed.text and "api_key" not in listed.json()[0]
    assert listed.json()[0]["key_prefix"] == created["key_prefix"]
    one = await any_admin_api.get(f"/api/omni/integrations/{created['id']}", headers=H)
    assert one.status_code == 200 and key not in one.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "Fantasma", "bot": "loja"}, "service"),
        ({"service": "Suporte", "bot": "Loja Bonita"}, "bot"),
        ({"service": "Suporte", "bot": ""}, "bot"),
        ({"bot": "loja"}, "service"),
        ({"service": "Suporte", "bot": "loja", "api_key": "mine"}, "api_key"),
    ],
)
async def test_bad_integration_is_422_naming_the_field(
    admin_api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await service(admin_api, "Suporte")
    response = await admin_api.post("/api/omni/integrations", json=body, headers=H)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


async def test_one_live_integration_per_bot_and_service(any_admin_api: httpx.AsyncClient) -> None:
    await service(any_admin_api, "Suporte")
    await service(any_admin_api, "Vendas")
    first = await integrate(any_admin_api, "Suporte")
    response = await any_admin_api.post(
        "/api/omni/integrations", json={"service": "Suporte", "bot": "loja"}, headers=H
    )
    assert response.status_code == 409 and "rotate" in response.json()["detail"]
    assert response.json()["code"] == "duplicate_integration"
    await integrate(any_admin_api, "Vendas")  # the same bot with another service
    await integrate(any_admin_api, "Suporte", bot="outro")  # another bot, same service
    await any_admin_api.delete(f"/api/omni/integrations/{first['id']}", headers=H)
    await integrate(any_admin_api, "Suporte")  # after revoking, a new one may be made


async def test_revoke_and_rotate(any_admin_api: httpx.AsyncClient, any_engine: sa.Engine) -> None:
    await service(any_admin_api, "Suporte")
    created = await integrate(any_admin_api, "Suporte")
    old = created["api_key"]
    assert resolve_integration(any_engine, "loja", hash_key(old), None) is not None

    url = f"/api/omni/integrations/{created['id']}"
    rotated = (await any_admin_api.post(f"{url}/rotate", headers=H)).json()
    new = rotated["api_key"]
    assert new != old and rotated["id"] == created["id"] and rotated["rotated_at"]
    assert resolve_integration(any_engine, "loja", hash_key(old), None) is None
    assert resolve_integration(any_engine, "loja", hash_key(new), None) is not None

    assert (await any_admin_api.delete(url, headers=H)).status_code == 204
    assert resolve_integration(any_engine, "loja", hash_key(new), None) is None
    assert (await any_admin_api.delete(url, headers=H)).status_code == 204  # idempotent
    revoked = await any_admin_api.post(f"{url}/rotate", headers=H)
    assert revoked.status_code == 409 and revoked.json()["code"] == "integration_revoked"
    assert (await any_admin_api.get("/api/omni/integrations", headers=H)).json() == []
    listed = (
        await any_admin_api.get("/api/omni/integrations?include_revoked=true", headers=H)
    ).json()
    assert listed[0]["revoked_at"] and listed[0]["service"] == "Suporte"


async def test_unknown_integration_is_404(any_admin_api: httpx.AsyncClient) -> None:
    url = "/api/omni/integrations/int_nope"
    assert (await any_admin_api.get(url, headers=H)).status_code == 404
    assert (await any_admin_api.delete(url, headers=H)).status_code == 404
    assert (await any_admin_api.post(f"{url}/rotate", headers=H)).status_code == 404


# --- the runtime's functions, straight on the store (both databases) --------------------------


def test_resolve_integration_rules(any_engine: sa.Engine) -> None:
    for name in ("Suporte", "Vendas", "Financeiro"):
        create_service(any_engine, ServiceCreate(name=name), stack_ring())
    own = create_integration(any_engine, IntegrationCreate(service="Suporte", bot="loja"))
    create_integration(any_engine, IntegrationCreate(service="Vendas", bot="loja"))
    create_integration(any_engine, IntegrationCreate(service="Financeiro", bot="outro"))
    key_hash = hash_key(own.api_key)

    default = resolve_integration(any_engine, "loja", key_hash, None)
    assert default is not None and default.service.name == "Suporte" and default.bot == "loja"
    assert default.integration_id == own.id == default.key_integration_id

    other = resolve_integration(any_engine, "loja", key_hash, "Vendas")
    assert other is not None and other.service.name == "Vendas"
    assert other.integration_id != own.id and other.key_integration_id == own.id

    assert resolve_integration(any_engine, "loja", key_hash, "Financeiro") is None
    assert resolve_integration(any_engine, "loja", key_hash, "Fantasma") is None
    assert resolve_integration(any_engine, "outro", key_hash, None) is None
    assert resolve_integration(any_engine, "loja", hash_key("tbk_wrong"), None) is None
    assert resolve_integration(any_engine, "loja", own.api_key, None) is None  # not hashed

    vendas = find_service(any_engine, name="Vendas")
    assert vendas is not None
    delete_service(any_engine, vendas.id)
    assert resolve_integration(any_engine, "loja", key_hash, "Vendas") is None
    assert resolve_integration(any_engine, "loja", key_hash, None) is not None
    suporte = find_service(any_engine, name="Suporte")
    assert suporte is not None
    delete_service(any_engine, suporte.id)
    assert resolve_integration(any_engine, "loja", key_hash, None) is None


def test_key_warning(any_engine: sa.Engine) -> None:
    create_service(any_engine, ServiceCreate(name="Suporte"), stack_ring())
    live = create_integration(any_engine, IntegrationCreate(service="Suporte", bot="loja"))
    assert key_warning(any_engine, "loja", live.api_key) is None

    missing = key_warning(any_engine, "loja", None)
    assert missing and "no Omni key" in missing
    unknown = key_warning(any_engine, "loja", "tbk_made-up")
    assert unknown and "matches no Omni integration" in unknown and "tbk_made-up" not in unknown
    foreign = key_warning(any_engine, "outro", live.api_key)
    assert foreign and "another bot" in foreign and live.api_key not in foreign

    revoke_integration(any_engine, live.id)
    revoked = key_warning(any_engine, "loja", live.api_key)
    assert revoked and "revoked" in revoked


def test_database_allows_one_live_integration_per_bot_and_service(any_engine: sa.Engine) -> None:
    """The partial unique index settles a race the application check could lose."""
    from datetime import UTC, datetime

    from store.tables import integrations

    created = create_service(any_engine, ServiceCreate(name="Suporte"), stack_ring())
    row = {
        "bot": "loja",
        "service_id": created.id,
        "key_prefix": "tbk_x",
        "created_at": datetime.now(UTC),
    }
    with any_engine.begin() as conn:
        conn.execute(sa.insert(integrations).values(id="int_a", key_hash="a" * 64, **row))
    with pytest.raises(sa.exc.IntegrityError), any_engine.begin() as conn:
        conn.execute(sa.insert(integrations).values(id="int_b", key_hash="b" * 64, **row))
    with any_engine.begin() as conn:
        conn.execute(
            sa.insert(integrations).values(
                id="int_c", key_hash="c" * 64, revoked_at=datetime.now(UTC), **row
            )
        )
