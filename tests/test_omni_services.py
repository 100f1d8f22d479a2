"""Services ("Novo Serviço") over the admin API, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from store import services as service_store
from store.tables import queue_entries, services
from tests.conftest import admin_headers
from transbordo.stack import stack_ring

H = admin_headers()
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CARD = {
    "title": "Enquanto você espera",
    "text": "Veja nossas ofertas",
    "image_url": "https://example.com/a.png",
    "buttons": [
        {"label": "Ofertas", "url": "https://example.com", "payload": None},
        {"label": "Menu", "url": None, "payload": "menu"},
    ],
}


async def create(api: httpx.AsyncClient, name: str = "Suporte", **fields: Any) -> dict[str, Any]:
    response = await api.post("/api/omni/services", json={"name": name, **fields}, headers=H)
    assert response.status_code == 201, response.text
    return response.json()


def add_entry(engine: sa.Engine, service_id: str, status: str) -> str:
    entry_id = f"q_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(
            sa.insert(queue_entries).values(
                id=entry_id,
                conversation_id=f"c_{entry_id}",
                workflow_id=f"conversation:loja:{entry_id}",
                service_id=service_id,
                status=status,
                enqueued_at=datetime.now(UTC),
                preview="oi",
            )
        )
    return entry_id


async def test_create_with_defaults(any_admin_api: httpx.AsyncClient) -> None:
    body = await create(any_admin_api)
    assert body["id"].startswith("svc_") and body["name"] == "Suporte"
    assert body["service_level_percent"] == 80
    assert body["voicemail_seconds"] == 0
    assert body["extension"] is None
    assert body["agent_screen"] is True and body["hidden"] is False
    assert body["transfer_group"] == []
    assert body["webhook"] == {"enabled": False, "url": None, "has_secret": False, "secret": None}
    assert body["queue_notifications"] == {"enabled": False, "interval_seconds": 60, "cards": []}


async def test_create_every_field_and_read_back(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    await create(any_admin_api, "Vendas", extension="200")
    fields = {
        "service_level_percent": 90,
        "answer_time_seconds": 30,
        "abandon_seconds": 120,
        "voicemail_seconds": 45,
        "extension": "101",
        "agent_screen": False,
        "transfer_group": ["Vendas"],
        "webhook": {"enabled": True, "url": "https://hooks.example.com/omni"},
        "hidden": True,
        "queue_notifications": {"enabled": True, "interval_seconds": 90, "cards": [CARD]},
    }
    created = await create(any_admin_api, "Suporte", **fields)
    secret = created["webhook"]["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert created["webhook"]["has_secret"] is True

    response = await any_admin_api.get(f"/api/omni/services/{created['id']}", headers=H)
    assert response.status_code == 200
    read = response.json()
    assert secret not in response.text and "secret" not in read["webhook"]
    for field, value in fields.items():
        if field == "webhook":
            assert read["webhook"] == {**value, "has_secret": True}
        else:
            assert read[field] == value, field
    assert service_store.webhook_target(any_engine, created["id"], stack_ring()).secret == secret

    listed = (await any_admin_api.get("/api/omni/services", headers=H)).json()
    assert [s["name"] for s in listed] == ["Suporte", "Vendas"]
    assert secret not in str(listed)


async def test_supplied_webhook_secret_is_kept_encrypted_and_not_echoed(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    webhook = {"enabled": True, "url": "http://10.0.0.5:8080/hook", "secret": SECRET}
    created = await create(any_admin_api, webhook=webhook)
    assert created["webhook"]["secret"] is None and created["webhook"]["has_secret"]
    target = service_store.webhook_target(any_engine, created["id"], stack_ring())
    assert target is not None and target.secret == SECRET and target.url == webhook["url"]
    assert SECRET not in _stored_secret(any_engine, created["id"])


async def test_a_webhook_secret_stored_in_clear_before_encryption_still_signs(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    webhook = {"enabled": True, "url": "http://10.0.0.5:8080/hook", "secret": SECRET}
    created = await create(any_admin_api, webhook=webhook)
    with any_engine.begin() as conn:
        conn.execute(
            sa.update(services).where(services.c.id == created["id"]).values(webhook_secret=SECRET)
        )
    assert service_store.webhook_target(any_engine, created["id"], stack_ring()).secret == SECRET
    hook = {"enabled": True, "url": "http://10.0.0.5:8080/other"}
    url = f"/api/omni/services/{created['id']}"
    assert (await any_admin_api.patch(url, json={"webhook": hook}, headers=H)).status_code == 200
    assert SECRET not in _stored_secret(any_engine, created["id"])  # encrypted at its next change
    assert service_store.webhook_target(any_engine, created["id"], stack_ring()).secret == SECRET


def _stored_secret(engine: sa.Engine, service_id: str) -> str:
    with engine.connect() as conn:
        query = sa.select(services.c.webhook_secret).where(services.c.id == service_id)
        return str(conn.scalar(query))


BAD_FIELDS: list[tuple[str, Any]] = [
    ("name", ""),
    ("name", "   "),
    ("name", "x" * 101),
    ("service_level_percent", -1),
    ("service_level_percent", 101),
    ("service_level_percent", "80"),
    ("answer_time_seconds", 0),
    ("answer_time_seconds", -5),
    ("answer_time_seconds", 10**9),
    ("abandon_seconds", 0),
    ("voicemail_seconds", -1),
    ("extension", "12"),
    ("extension", "1234"),
    ("extension", "ab1"),
    ("extension", 123),
    ("agent_screen", "yes"),
    ("hidden", 1),
    ("transfer_group", "Vendas"),
    ("transfer_group", ["Vendas", "Vendas"]),
    ("webhook", {"enabled": True}),
    ("webhook", {"enabled": True, "url": "ftp://example.com"}),
    ("webhook", {"url": "not a url"}),
    ("webhook", {"url": "https://x.example", "secret": "abc"}),
    ("webhook", {"url": "https://x.example", "secret": "whsec_!!!"}),
    (
        "webhook",
        {"url": "https://x.example", "secret": "whsec_" + base64.b64encode(b"short").decode()},
    ),
    ("queue_notifications", {"enabled": True}),
    ("queue_notifications", {"enabled": True, "interval_seconds": 0, "cards": [CARD]}),
    ("queue_notifications", {"enabled": True, "cards": [{"text": "sem título"}]}),
    ("queue_notifications", {"cards": [{**CARD, "image_url": "javascript:alert(1)"}]}),
    ("queue_notifications", {"cards": [{**CARD, "buttons": [{"label": "x"}]}]}),
    (
        "queue_notifications",
        {"cards": [{**CARD, "buttons": [{"label": "x", "url": "https://a.b", "payload": "p"}]}]},
    ),
    ("queue_notifications", {"cards": [CARD] * 11}),
    ("colour", "blue"),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
async def test_bad_field_is_422_naming_it(
    admin_api: httpx.AsyncClient, field: str, value: Any
) -> None:
    body = {"name": "Suporte", field: value}
    response = await admin_api.post("/api/omni/services", json=body, headers=H)
    assert response.status_code == 422, response.text
    assert any(error["loc"][:2] == ["body", field] for error in response.json()["detail"])
    assert response.json()["code"] == "validation_error"


async def test_missing_name_is_422(admin_api: httpx.AsyncClient) -> None:
    response = await admin_api.post("/api/omni/services", json={}, headers=H)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


async def test_duplicate_name_or_extension_is_409(any_admin_api: httpx.AsyncClient) -> None:
    await create(any_admin_api, "Suporte", extension="101")
    for body, code in (
        ({"name": "Suporte"}, "duplicate_service_name"),
        ({"name": "Outro", "extension": "101"}, "duplicate_extension"),
    ):
        response = await any_admin_api.post("/api/omni/services", json=body, headers=H)
        assert response.status_code == 409, body
        assert "already" in response.json()["detail"]
        assert response.json()["code"] == code  # what the pages say in pt-BR
    await create(any_admin_api, "Outro", extension="102")


async def test_transfer_group_must_name_existing_services_not_itself(
    any_admin_api: httpx.AsyncClient,
) -> None:
    for group in (["Fantasma"], ["Suporte"]):
        response = await any_admin_api.post(
            "/api/omni/services", json={"name": "Suporte", "transfer_group": group}, headers=H
        )
        assert response.status_code == 422, group
        assert response.json()["detail"][0]["loc"][:2] == ["body", "transfer_group"]
        assert response.json()["code"] == "invalid_reference"


async def test_get_patch_delete_unknown_is_404(any_admin_api: httpx.AsyncClient) -> None:
    url = "/api/omni/services/svc_nope"
    missing = await any_admin_api.get(url, headers=H)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert (await any_admin_api.patch(url, json={"hidden": True}, headers=H)).status_code == 404
    assert (await any_admin_api.delete(url, headers=H)).status_code == 404


async def test_patch_changes_only_the_fields_sent(any_admin_api: httpx.AsyncClient) -> None:
    created = await create(any_admin_api, extension="101", abandon_seconds=100)
    url = f"/api/omni/services/{created['id']}"
    response = await any_admin_api.patch(url, json={"abandon_seconds": 200}, headers=H)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["abandon_seconds"] == 200
    assert changed["extension"] == "101" and changed["name"] == "Suporte"
    assert changed["updated_at"] >= created["updated_at"]

    response = await any_admin_api.patch(url, json={"extension": None}, headers=H)
    assert response.json()["extension"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"abandon_seconds": None},
        {"transfer_group": None},
        {"abandon_seconds": 0},
        {"extension": "1"},
        {"webhook": {"enabled": True}},
        {"unknown": 1},
    ],
)
async def test_patch_bad_field_is_422(admin_api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    created = await create(admin_api)
    response = await admin_api.patch(f"/api/omni/services/{created['id']}", json=body, headers=H)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", next(iter(body))]


async def test_patch_conflicts_and_own_group(any_admin_api: httpx.AsyncClient) -> None:
    await create(any_admin_api, "Vendas", extension="200")
    created = await create(any_admin_api, "Suporte", extension="101")
    url = f"/api/omni/services/{created['id']}"
    renamed = await any_admin_api.patch(url, json={"name": "Vendas"}, headers=H)
    assert renamed.status_code == 409 and renamed.json()["code"] == "duplicate_service_name"
    moved = await any_admin_api.patch(url, json={"extension": "200"}, headers=H)
    assert moved.status_code == 409 and moved.json()["code"] == "duplicate_extension"
    same = await any_admin_api.patch(url, json={"name": "Suporte", "extension": "101"}, headers=H)
    assert same.status_code == 200
    response = await any_admin_api.patch(url, json={"transfer_group": ["Suporte"]}, headers=H)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "transfer_group"]
    response = await any_admin_api.patch(
        url, json={"name": "Atendimento", "transfer_group": ["Atendimento"]}, headers=H
    )
    assert response.status_code == 422


async def test_patch_webhook_generates_once_then_keeps_secret(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    created = await create(any_admin_api)
    url = f"/api/omni/services/{created['id']}"
    hook = {"enabled": True, "url": "https://hooks.example.com/a"}
    first = (await any_admin_api.patch(url, json={"webhook": hook}, headers=H)).json()
    secret = first["webhook"]["secret"]
    assert secret and secret.startswith("whsec_")
    hook["url"] = "https://hooks.example.com/b"
    second = (await any_admin_api.patch(url, json={"webhook": hook}, headers=H)).json()
    assert second["webhook"]["secret"] is None and second["webhook"]["url"].endswith("/b")
    assert service_store.webhook_target(any_engine, created["id"], stack_ring()).secret == secret

    replaced = {**hook, "secret": SECRET}
    third = (await any_admin_api.patch(url, json={"webhook": replaced}, headers=H)).json()
    assert third["webhook"]["secret"] is None
    assert service_store.webhook_target(any_engine, created["id"], stack_ring()).secret == SECRET
    off = (await any_admin_api.patch(url, json={"webhook": {"enabled": False}}, headers=H)).json()
    assert off["webhook"] == {"enabled": False, "url": None, "has_secret": True, "secret": None}
    assert service_store.webhook_target(any_engine, created["id"], stack_ring()) is None


async def test_rename_follows_into_transfer_groups(any_admin_api: httpx.AsyncClient) -> None:
    vendas = await create(any_admin_api, "Vendas")
    suporte = await create(any_admin_api, "Suporte", transfer_group=["Vendas"])
    await any_admin_api.patch(
        f"/api/omni/services/{vendas['id']}", json={"name": "Comercial"}, headers=H
    )
    read = (await any_admin_api.get(f"/api/omni/services/{suporte['id']}", headers=H)).json()
    assert read["transfer_group"] == ["Comercial"]


@pytest.mark.parametrize("status", ["waiting", "in_service"])
async def test_delete_refused_with_open_conversations(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine, status: str
) -> None:
    created = await create(any_admin_api)
    add_entry(any_engine, created["id"], status)
    response = await any_admin_api.delete(f"/api/omni/services/{created['id']}", headers=H)
    assert response.status_code == 409 and response.json()["code"] == "service_busy"
    assert ("1 waiting" if status == "waiting" else "1 in-service") in response.json()["detail"]
    assert (await any_admin_api.get(f"/api/omni/services/{created['id']}", headers=H)).is_success


async def test_delete_cleans_groups_agents_integrations_and_detaches_history(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    vendas = await create(any_admin_api, "Vendas")
    await create(any_admin_api, "Financeiro")
    suporte = await create(any_admin_api, "Suporte", transfer_group=["Vendas", "Financeiro"])
    entry = add_entry(any_engine, vendas["id"], "finished")
    agent = (
        await any_admin_api.post(
            "/api/omni/agents", json={"name": "Ana", "services": ["Vendas", "Suporte"]}, headers=H
        )
    ).json()
    integration = (
        await any_admin_api.post(
            "/api/omni/integrations", json={"service": "Vendas", "bot": "loja"}, headers=H
        )
    ).json()

    response = await any_admin_api.delete(f"/api/omni/services/{vendas['id']}", headers=H)
    assert response.status_code == 204
    assert (
        await any_admin_api.get(f"/api/omni/services/{vendas['id']}", headers=H)
    ).status_code == 404
    read = (await any_admin_api.get(f"/api/omni/services/{suporte['id']}", headers=H)).json()
    assert read["transfer_group"] == ["Financeiro"]
    read_agent = (await any_admin_api.get(f"/api/omni/agents/{agent['id']}", headers=H)).json()
    assert read_agent["services"] == ["Suporte"]
    listed = (
        await any_admin_api.get("/api/omni/integrations?include_revoked=true", headers=H)
    ).json()
    assert listed[0]["id"] == integration["id"]
    assert listed[0]["revoked_at"] is not None and listed[0]["service"] is None
    assert (await any_admin_api.get("/api/omni/integrations", headers=H)).json() == []
    with any_engine.connect() as conn:
        row = conn.execute(sa.select(queue_entries).where(queue_entries.c.id == entry)).one()
    assert row.service_id is None and row.status == "finished"
    # the name is free again
    await create(any_admin_api, "Vendas")
