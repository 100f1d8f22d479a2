"""The per-process cache of agents found by token (store/agent_tokens.py): a deletion, a token
rotation or a change of services through this API process takes effect at once; one made
elsewhere (another replica, simulated by writing SQL directly) within the bound, never later."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omni import keys
from omni.models import AgentCreate, ServiceCreate
from store import agent_tokens
from store import agents as agent_store
from store import services as service_store
from store.tables import agents, queue_entries
from tests.conftest import admin_headers
from transbordo.stack import stack_ring

H = admin_headers()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _agent_in_vendas(api: httpx.AsyncClient) -> dict[str, Any]:
    assert (await api.post("/api/omni/services", json={"name": "Vendas"}, headers=H)).is_success
    body = {"name": f"Ana {uuid.uuid4().hex[:6]}", "services": ["Vendas"]}
    created = await api.post("/api/omni/agents", json=body, headers=H)
    assert created.status_code == 201, created.text
    agent: dict[str, Any] = created.json()
    assert (await api.get("/api/agent/queue", headers=bearer(agent["token"]))).status_code == 200
    return agent  # its token was just used: this process now has the agent cached


async def test_a_rotated_token_is_refused_at_once(any_admin_api: httpx.AsyncClient) -> None:
    agent = await _agent_in_vendas(any_admin_api)
    rotated = await any_admin_api.post(f"/api/omni/agents/{agent['id']}/token", headers=H)
    assert rotated.status_code == 200
    old, new = bearer(agent["token"]), bearer(rotated.json()["token"])
    assert (await any_admin_api.get("/api/agent/queue", headers=old)).status_code == 401
    assert (await any_admin_api.get("/api/agent/queue", headers=new)).status_code == 200
    assert (await any_admin_api.post("/api/agent/next", headers=old)).status_code == 401


async def test_a_deleted_agent_is_refused_at_once(any_admin_api: httpx.AsyncClient) -> None:
    agent = await _agent_in_vendas(any_admin_api)
    assert (await any_admin_api.get("/api/agent/me", headers=bearer(agent["token"]))).is_success
    deleted = await any_admin_api.delete(f"/api/omni/agents/{agent['id']}", headers=H)
    assert deleted.status_code == 204
    for method, path in (("GET", "/api/agent/queue"), ("POST", "/api/agent/next")):
        answer = await any_admin_api.request(method, path, headers=bearer(agent["token"]))
        assert answer.status_code == 401, (path, answer.text)


async def test_a_service_taken_away_counts_at_once(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    agent = await _agent_in_vendas(any_admin_api)
    conversation_id = f"c{uuid.uuid4().hex[:8]}"
    service_id = (await any_admin_api.get("/api/omni/services", headers=H)).json()[0]["id"]
    with any_engine.begin() as conn:
        conn.execute(
            sa.insert(queue_entries).values(
                id=f"q_{uuid.uuid4().hex[:8]}",
                conversation_id=conversation_id,
                workflow_id=f"conversation:loja:{conversation_id}",
                service_id=service_id,
                status="waiting",
                enqueued_at=datetime.now(UTC),
            )
        )
    url, auth = f"/api/agent/conversations/{conversation_id}", bearer(agent["token"])
    assert (await any_admin_api.get(url, headers=auth)).status_code == 200
    patched = await any_admin_api.patch(
        f"/api/omni/agents/{agent['id']}", json={"services": []}, headers=H
    )
    assert patched.status_code == 200
    refused = await any_admin_api.get(url, headers=auth)
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_service"


def test_a_change_elsewhere_takes_effect_within_the_bound(
    any_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = agent_store.create_agent(any_engine, AgentCreate(name=f"Bia {uuid.uuid4().hex}"))
    clock = [1000.0]
    monkeypatch.setattr(agent_tokens.time, "monotonic", lambda: clock[0])
    assert agent_store.agent_by_token(any_engine, created.token, cache_seconds=5) is not None
    with any_engine.begin() as conn:  # another replica deletes the agent
        conn.execute(sa.delete(agents).where(agents.c.id == created.id))
    clock[0] += 4.9  # within the bound this process may still trust what it saw
    assert agent_store.cached_agent(any_engine, created.token) is not None
    assert agent_store.agent_by_token(any_engine, created.token) is None  # SQL says gone
    clock[0] += 0.2
    assert agent_store.cached_agent(any_engine, created.token) is None


def test_unknown_tokens_are_never_kept_and_service_changes_forget(any_engine: sa.Engine) -> None:
    assert agent_store.agent_by_token(any_engine, "tba_nope", cache_seconds=60) is None
    assert agent_store.cached_agent(any_engine, "tba_nope") is None
    service = service_store.create_service(
        any_engine, ServiceCreate(name=f"S{uuid.uuid4().hex}"), stack_ring()
    )
    body = AgentCreate(name=f"Caio {uuid.uuid4().hex}", services=[service.name])
    created = agent_store.create_agent(any_engine, body)
    assert agent_store.agent_by_token(any_engine, created.token, cache_seconds=60) is not None
    assert agent_store.cached_agent(any_engine, created.token) is not None
    service_store.delete_service(any_engine, service.id)
    assert agent_store.cached_agent(any_engine, created.token) is None
    found = agent_store.agent_by_token(any_engine, created.token, cache_seconds=60)
    assert found is not None and found.services == []
    assert agent_store.agent_by_token(any_engine, created.token, cache_seconds=0) is not None


def test_a_lookup_racing_with_a_change_is_not_kept(any_engine: sa.Engine) -> None:
    """A lookup that read the agent before a change committed must not keep the old agent."""
    created = agent_store.create_agent(any_engine, AgentCreate(name=f"Duda {uuid.uuid4().hex}"))
    since = agent_tokens.generation()  # the lookup starts
    stale = agent_store.agent_by_token(any_engine, created.token)
    assert stale is not None
    agent_store.rotate_agent_token(any_engine, created.id)  # a change commits meanwhile
    agent_tokens.keep(any_engine, keys.hash_key(created.token), stale, 60, since)
    assert agent_store.cached_agent(any_engine, created.token) is None
