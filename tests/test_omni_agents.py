"""Agents: admin CRUD with a token shown once, and the agent's own /api/agent routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from store.tables import queue_entries
from tests.conftest import admin_headers

H = admin_headers()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def setup_services(api: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        response = await api.post("/api/omni/services", json={"name": name}, headers=H)
        assert response.status_code == 201


async def create(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/omni/agents", json={"name": "Ana", **body}, headers=H)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_list_get(any_admin_api: httpx.AsyncClient) -> None:
    await setup_services(any_admin_api, "Vendas", "Suporte")
    created = await create(any_admin_api, services=["Vendas", "Suporte"], capacity=3)
    assert created["id"].startswith("agt_") and created["token"].startswith("tba_")
    assert created["services"] == ["Suporte", "Vendas"]
    assert created["capacity"] == 3 and created["status"] == "offline"
    default = await create(any_admin_api, name="Bia")
    assert default["capacity"] == 1 and default["services"] == []

    listed = await any_admin_api.get("/api/omni/agents", headers=H)
    assert [a["name"] for a in listed.json()] == ["Ana", "Bia"]
    assert created["token"] not in listed.text and "token" not in listed.json()[0]
    one = await any_admin_api.get(f"/api/omni/agents/{created['id']}", headers=H)
    assert one.status_code == 200 and created["token"] not in one.text
    assert one.json()["services"] == ["Suporte", "Vendas"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": "2"}, "capacity"),
        ({"services": ["Fantasma"]}, "services"),
        ({"services": ["Vendas", "Vendas"]}, "services"),
        ({"services": "Vendas"}, "services"),
        ({"name": " "}, "name"),
        ({"status": "available"}, "status"),  # status is the agent's own switch at creation
    ],
)
async def test_bad_agent_is_422(
    admin_api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await setup_services(admin_api, "Vendas")
    response = await admin_api.post("/api/omni/agents", json={"name": "Ana", **body}, headers=H)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


async def test_duplicate_name_is_409(any_admin_api: httpx.AsyncClient) -> None:
    bia = await create(any_admin_api, name="Bia")
    await create(any_admin_api)
    response = await any_admin_api.post("/api/omni/agents", json={"name": "Ana"}, headers=H)
    assert response.status_code == 409 and response.json()["code"] == "duplicate_agent_name"
    rename = await any_admin_api.patch(
        f"/api/omni/agents/{bia['id']}", json={"name": "Ana"}, headers=H
    )
    assert rename.status_code == 409 and rename.json()["code"] == "duplicate_agent_name"


async def test_patch(any_admin_api: httpx.AsyncClient) -> None:
    await setup_services(any_admin_api, "Vendas", "Suporte")
    created = await create(any_admin_api, services=["Vendas"])
    url = f"/api/omni/agents/{created['id']}"
    response = await any_admin_api.patch(
        url, json={"services": ["Suporte"], "capacity": 2, "status": "paused"}, headers=H
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["services"] == ["Suporte"] and changed["capacity"] == 2
    assert changed["status"] == "paused" and changed["name"] == "Ana"
    for bad in ({"capacity": 0}, {"name": None}, {"status": "busy"}, {"services": ["X"]}):
        response = await any_admin_api.patch(url, json=bad, headers=H)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"][:2] == ["body", next(iter(bad))]


async def test_unknown_agent_is_404(any_admin_api: httpx.AsyncClient) -> None:
    url = "/api/omni/agents/agt_nope"
    assert (await any_admin_api.get(url, headers=H)).status_code == 404
    assert (await any_admin_api.patch(url, json={"capacity": 2}, headers=H)).status_code == 404
    assert (await any_admin_api.delete(url, headers=H)).status_code == 404
    assert (await any_admin_api.post(f"{url}/token", headers=H)).status_code == 404


async def test_delete(any_admin_api: httpx.AsyncClient, any_engine: sa.Engine) -> None:
    await setup_services(any_admin_api, "Vendas")
    created = await create(any_admin_api, services=["Vendas"])
    service_id = (await any_admin_api.get("/api/omni/services", headers=H)).json()[0]["id"]
    entry = f"q_{uuid.uuid4().hex[:8]}"
    with any_engine.begin() as conn:
        conn.execute(
            sa.insert(queue_entries).values(
                id=entry,
                conversation_id="c1",
                workflow_id="conversation:loja:c1",
                service_id=service_id,
                status="in_service",
                agent_id=created["id"],
                enqueued_at=datetime.now(UTC),
                picked_up_at=datetime.now(UTC),
            )
        )
    url = f"/api/omni/agents/{created['id']}"
    response = await any_admin_api.delete(url, headers=H)
    assert response.status_code == 409 and "in service" in response.json()["detail"]
    assert response.json()["code"] == "agent_busy"
    with any_engine.begin() as conn:
        conn.execute(
            sa.update(queue_entries).where(queue_entries.c.id == entry).values(status="finished")
        )
    assert (await any_admin_api.delete(url, headers=H)).status_code == 204
    assert (await any_admin_api.get(url, headers=H)).status_code == 404
    assert (
        await any_admin_api.get("/api/agent/me", headers=bearer(created["token"]))
    ).status_code == 401
    with any_engine.connect() as conn:
        row = conn.execute(sa.select(queue_entries).where(queue_entries.c.id == entry)).one()
    assert row.agent_id is None


async def test_agent_me_and_status(any_admin_api: httpx.AsyncClient) -> None:
    await setup_services(any_admin_api, "Vendas")
    created = await create(any_admin_api, services=["Vendas"], capacity=2)
    auth = bearer(created["token"])
    me = await any_admin_api.get("/api/agent/me", headers=auth)
    assert me.status_code == 200
    assert me.json()["name"] == "Ana" and me.json()["services"] == ["Vendas"]
    assert "token" not in me.json()

    for status in ("available", "paused", "offline", "available"):
        response = await any_admin_api.post(
            "/api/agent/status", json={"status": status}, headers=auth
        )
        assert response.status_code == 200 and response.json()["status"] == status
    read = await any_admin_api.get(f"/api/omni/agents/{created['id']}", headers=H)
    assert read.json()["status"] == "available"
    for bad in ({"status": "busy"}, {}, {"status": "available", "capacity": 9}):
        response = await any_admin_api.post("/api/agent/status", json=bad, headers=auth)
        assert response.status_code == 422, bad


async def test_new_token_kills_the_old_one(any_admin_api: httpx.AsyncClient) -> None:
    created = await create(any_admin_api)
    response = await any_admin_api.post(f"/api/omni/agents/{created['id']}/token", headers=H)
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != created["token"]
    assert (
        await any_admin_api.get("/api/agent/me", headers=bearer(created["token"]))
    ).status_code == 401
    assert (await any_admin_api.get("/api/agent/me", headers=bearer(new))).status_code == 200
    # an agent token is not an admin token, nor the reverse
    assert (await any_admin_api.get("/api/omni/agents", headers=bearer(new))).status_code == 401
    assert (await any_admin_api.get("/api/agent/me", headers=H)).status_code == 401
