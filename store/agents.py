"""Omni agents in SQL: who works which services, how many conversations at once, their status.

Bearer tokens are stored hashed (``omni.keys.hash_key``) and shown once. An agent's load (its
conversations in service) lives in ``queue_entries``; see :mod:`store.queue`. Agents found by
token may be kept per process for a few seconds (:mod:`store.token_cache`): every change here
forgets them, after its commit (a status change only that agent's).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from omni import keys
from omni.errors import Conflict, NotFound
from omni.models import AgentCreate, AgentCreated, AgentPublic, AgentStatus, AgentUpdate
from store import presence
from store.common import new_id, now
from store.db import reads
from store.name_keys import (
    as_stored,
    check_revision,
    key_on_update,
    raced,
    refuse_same_name,
    write_revision,
)
from store.services import service_ids
from store.tables import agent_services, agents, queue_entries, services
from store.token_cache import AGENTS as AGENT_TOKENS

logger = logging.getLogger(__name__)


def _agents(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> list[AgentPublic]:
    query = sa.select(agents).order_by(agents.c.name)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    if not rows:
        return []
    served: dict[str, list[str]] = {}
    pairs = conn.execute(
        sa.select(agent_services.c.agent_id, services.c.name)
        .join(services, services.c.id == agent_services.c.service_id)
        .where(agent_services.c.agent_id.in_([row.id for row in rows]))
        .order_by(services.c.name)
    )
    for agent_id, name in pairs:
        served.setdefault(agent_id, []).append(name)
    return [
        AgentPublic(
            id=row.id,
            name=row.name,
            services=served.get(row.id, []),
            capacity=row.capacity,
            status=row.status,
            supervisor=row.supervisor,
            skills=row.skills or [],
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def _agent(conn: Connection, agent_id: str) -> AgentPublic:
    found = _agents(conn, agents.c.id == agent_id)
    if not found:
        raise NotFound(f"no agent {agent_id!r}")
    return found[0]


AGENT = "agent"
DUPLICATE_NAME = "duplicate_agent_name"
ADMIN_FIELDS = frozenset({"name", "capacity", "skills", "supervisor", "services"})
"""What the admin sets: a change of one is a new revision (the agent's status is not)."""


def _set_services(conn: Connection, agent_id: str, ids: Iterable[str]) -> None:
    conn.execute(sa.delete(agent_services).where(agent_services.c.agent_id == agent_id))
    rows = [{"agent_id": agent_id, "service_id": service_id} for service_id in ids]
    if rows:
        conn.execute(sa.insert(agent_services), rows)


def create_agent(engine: Engine, body: AgentCreate) -> AgentCreated:
    """Create an agent (offline) with a fresh bearer token, returned this once."""
    token = keys.new_agent_token()
    agent_id = new_id("agt")
    created_at = now()
    try:
        with engine.begin() as conn:
            key = refuse_same_name(conn, agents, body.name, what=AGENT, code=DUPLICATE_NAME)
            ids = service_ids(conn, body.services, "services")
            conn.execute(
                sa.insert(agents).values(
                    id=agent_id,
                    name=body.name,
                    name_key=key,
                    capacity=body.capacity,
                    supervisor=body.supervisor,
                    skills=body.skills,
                    status="offline",
                    token_hash=keys.hash_key(token),
                    status_changed_at=created_at,
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
            _set_services(conn, agent_id, ids.values())
            public = _agent(conn, agent_id)
    except IntegrityError:
        raise raced(engine, agents, body.name, AGENT, DUPLICATE_NAME) from None
    logger.info("agent created: %s (%s)", public.name, public.id)
    return AgentCreated(**public.model_dump(), token=token)


def list_agents(engine: Engine) -> list[AgentPublic]:
    with reads(engine) as conn:
        return _agents(conn)


def get_agent(engine: Engine, agent_id: str) -> AgentPublic:
    with reads(engine) as conn:
        return _agent(conn, agent_id)


def update_agent(
    engine: Engine,
    agent_id: str,
    body: AgentUpdate,
    *,
    expected: Collection[int] | None = None,
) -> AgentPublic:
    """Change the fields sent; ``services`` replaces the list. `expected`: the revisions an
    `If-Match` accepts (Stale otherwise; None: no check)."""
    try:
        return _update_agent(engine, agent_id, body, expected)
    finally:  # after the commit: a lookup racing with it is not kept (store/token_cache.py)
        if body.model_fields_set <= {"status"}:  # no check takes the status from the cache
            AGENT_TOKENS.forget(engine, lambda agent: agent.id == agent_id)
        else:
            AGENT_TOKENS.forget_all()


def _update_agent(
    engine: Engine, agent_id: str, body: AgentUpdate, expected: Collection[int] | None
) -> AgentPublic:
    changes = body.model_dump(exclude_unset=True)
    changed_at = now()
    try:
        with engine.begin() as conn:
            row = conn.execute(sa.select(agents).where(agents.c.id == agent_id)).one_or_none()
            if row is None:
                raise NotFound(f"no agent {agent_id!r}")
            what = f"agent {row.name!r}"
            check_revision(row.revision, expected, what)
            values: dict[str, Any] = {
                key: changes[key]
                for key in ("name", "capacity", "status", "skills", "supervisor")
                if key in changes
            }
            if "name" in changes:  # the same name sent back (a whole form) is no rename
                values["name"] = as_stored(changes["name"], row.name)
                values["name_key"] = key_on_update(
                    conn, agents, row, values["name"], what=AGENT, code=DUPLICATE_NAME
                )
            if body.services is not None:
                ids = service_ids(conn, body.services, "services")
                _set_services(conn, agent_id, ids.values())
            if "status" in values and values["status"] != row.status:
                values["status_changed_at"] = changed_at
                values["lapses"] = 0
                presence.clear_reason(conn, agent_id)  # chosen now, not set for absence
            values["updated_at"] = changed_at
            if ADMIN_FIELDS & changes.keys():
                write_revision(conn, agents, row, values, expected=expected, what=what)
            else:  # the status alone: no revision (the admin's `If-Match` stays good)
                conn.execute(sa.update(agents).where(agents.c.id == agent_id).values(**values))
            return _agent(conn, agent_id)
    except IntegrityError:
        raise raced(engine, agents, body.name or "", AGENT, DUPLICATE_NAME) from None


def set_agent_status(engine: Engine, agent_id: str, status: AgentStatus) -> AgentPublic:
    """The agent's own ``available | paused | offline`` switch (the presence sweep's offline,
    store/presence.py, writes the same columns, conditionally)."""
    return update_agent(engine, agent_id, AgentUpdate(status=status))


def rotate_agent_token(engine: Engine, agent_id: str) -> AgentCreated:
    """Give the agent a new token (returned this once); the old one stops working."""
    token = keys.new_agent_token()
    with engine.begin() as conn:
        _agent(conn, agent_id)
        conn.execute(
            sa.update(agents)
            .where(agents.c.id == agent_id)
            .values(token_hash=keys.hash_key(token), updated_at=now())
        )
        public = _agent(conn, agent_id)
    AGENT_TOKENS.forget_all()
    logger.info("agent token rotated: %s", agent_id)
    return AgentCreated(**public.model_dump(), token=token)


def delete_agent(engine: Engine, agent_id: str) -> None:
    """Delete an agent who holds no conversation in service; its history stays, detached."""
    with engine.begin() as conn:
        current = _agent(conn, agent_id)
        busy = conn.execute(
            sa.select(sa.func.count()).where(
                queue_entries.c.agent_id == agent_id, queue_entries.c.status == "in_service"
            )
        ).scalar_one()
        if busy:
            raise Conflict(
                f"agent {current.name!r} has {busy} conversation(s) in service; "
                "finish or transfer them before deleting the agent",
                code="agent_busy",
            )
        conn.execute(
            sa.update(queue_entries)
            .where(queue_entries.c.agent_id == agent_id)
            .values(agent_id=None)
        )
        conn.execute(sa.delete(agent_services).where(agent_services.c.agent_id == agent_id))
        conn.execute(sa.delete(agents).where(agents.c.id == agent_id))
    AGENT_TOKENS.forget_all()
    logger.info("agent deleted: %s (%s)", current.name, agent_id)


def agent_by_token(engine: Engine, token: str, *, cache_seconds: float = 0.0) -> AgentPublic | None:
    """The agent whose bearer token this is (hash lookup + constant-time compare), or None;
    with `cache_seconds`, an agent found is kept that long for `cached_agent`."""
    token_hash = keys.hash_key(token)
    since = AGENT_TOKENS.generation()
    with reads(engine) as conn:
        row = conn.execute(
            sa.select(agents.c.id, agents.c.token_hash).where(agents.c.token_hash == token_hash)
        ).one_or_none()
        if row is None or not secrets.compare_digest(row.token_hash.encode(), token_hash.encode()):
            return None
        agent = _agent(conn, row.id)
    AGENT_TOKENS.keep(engine, token_hash, agent, cache_seconds, since)
    return agent


def cached_agent(engine: Engine, token: str) -> AgentPublic | None:
    """The agent this token named when last looked up through `agent_by_token` with
    `cache_seconds`, within that bound and with no change to agents since; None: ask SQL."""
    return AGENT_TOKENS.cached(engine, keys.hash_key(token))


def agents_by_tokens(engine: Engine, tokens: Iterable[str]) -> dict[str, AgentPublic]:
    """The agents these bearer tokens name now, by token (absent: no agent has it any more).
    One lookup for all of an API process's open agent streams (api/agent_rechecks.py)."""
    by_hash = {keys.hash_key(token): token for token in tokens}
    if not by_hash:
        return {}
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(agents.c.id, agents.c.token_hash).where(
                agents.c.token_hash.in_(list(by_hash))
            )
        ).all()
        found = {a.id: a for a in _agents(conn, agents.c.id.in_([r.id for r in rows]))}
    return {by_hash[row.token_hash]: found[row.id] for row in rows if row.id in found}
