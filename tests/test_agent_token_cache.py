"""The per-process cache of agents found by token (store/token_cache.py): a deletion, a token
rotation or a change of services or supervisor through this API process takes effect at once (a
status change forgets only that agent); one made elsewhere (another replica, simulated by
writing SQL directly) within the bound, never later."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omni import keys
from omni.models import AgentCreate, AgentPublic, AgentUpdate, ServiceCreate
from store import agents as agent_store
from store import services as service_store
from store import token_cache
from store.tables import agents, queue_entries
from store.token_cache import AGENTS as agent_tokens
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
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: clock[0])
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


async def test_an_agent_deleted_elsewhere_while_cached_is_refused_by_me_and_status(
    any_admin_api: httpx.AsyncClient, any_engine: sa.Engine
) -> None:
    """`/api/agent/me` and `/api/agent/status` read the agent in SQL: gone, they answer 401 as
    an unknown token does, not 404."""
    agent = await _agent_in_vendas(any_admin_api)
    with any_engine.begin() as conn:  # another replica deletes the agent
        conn.execute(sa.delete(agents).where(agents.c.id == agent["id"]))
    auth = bearer(agent["token"])
    me = await any_admin_api.get("/api/agent/me", headers=auth)
    assert me.status_code == 401 and me.json()["code"] == "unauthorized", me.text
    changed = await any_admin_api.post("/api/agent/status", json={"status": "paused"}, headers=auth)
    assert changed.status_code == 401 and changed.json()["code"] == "unauthorized", changed.text


def test_a_status_change_forgets_only_that_agent(any_engine: sa.Engine) -> None:
    """No check takes the status from the cache: the other agents stay cached; any other change
    (here `supervisor`) still forgets every agent at once."""
    ana = agent_store.create_agent(any_engine, AgentCreate(name=f"Ana {uuid.uuid4().hex}"))
    bia = agent_store.create_agent(any_engine, AgentCreate(name=f"Bia {uuid.uuid4().hex}"))
    for created in (ana, bia):
        assert agent_store.agent_by_token(any_engine, created.token, cache_seconds=60) is not None
    agent_store.set_agent_status(any_engine, ana.id, "available")
    assert agent_store.cached_agent(any_engine, ana.token) is None
    assert agent_store.cached_agent(any_engine, bia.token) is not None
    found = agent_store.agent_by_token(any_engine, ana.token, cache_seconds=60)
    assert found is not None and found.status == "available"
    agent_store.update_agent(any_engine, bia.id, AgentUpdate(supervisor=True))
    assert agent_store.cached_agent(any_engine, ana.token) is None
    assert agent_store.cached_agent(any_engine, bia.token) is None
    found = agent_store.agent_by_token(any_engine, bia.token, cache_seconds=60)
    assert found is not None and found.supervisor


def test_entries_are_per_engine_and_go_with_it(tmp_path: Path) -> None:
    """Keyed by the engine object (weakly), not its rendered URL: two engines do not share
    entries, and a dropped engine leaves none behind."""
    agent = AgentPublic.model_validate(
        {
            "id": "agt_x",
            "name": "Xavier",
            "services": [],
            "capacity": 1,
            "status": "offline",
            "supervisor": False,
            "skills": [],
            "created_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
        }
    )
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first, second = sa.create_engine(url), sa.create_engine(url)
    token_hash = uuid.uuid4().hex
    agent_tokens.keep(first, token_hash, agent, 60, agent_tokens.generation())
    assert agent_tokens.cached(first, token_hash) == agent
    assert agent_tokens.cached(second, token_hash) is None
    first.dispose()
    del first
    gc.collect()
    assert not any(token_hash in entries for entries in agent_tokens._cache.values())
