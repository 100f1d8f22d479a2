"""Agent presence in SQL: when the API last saw an agent's screen, and the sweep that sets an
agent the API no longer sees offline (api/presence.py runs both; migration 0021).

An agent is *seen* while one of its agent streams is open in some API process, and when it
makes agent requests: each process writes `last_seen_at` of the agents it streamed to or heard
from every few seconds, in one statement (no write per request). An agent not offline
whose `last_seen_at` and last status change are both older than the timeout is *unseen*: the
sweep sets it offline the way its own "Offline" does (store/agents.py `update_agent`: status,
`status_changed_at`, `lapses` 0, `updated_at`; the process's token cache forgets it), with
`status_reason` `unseen` so its screen can say why. The sweep is idempotent and conditional in
one UPDATE (an agent seen meanwhile, or that changed status, is left alone), so every API
process may run it: two at once set each agent offline once (the other's UPDATE matches no
row). Its conversations in service stay with it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from store.db import reads
from store.tables import agents
from store.token_cache import AGENTS as AGENT_TOKENS

logger = logging.getLogger(__name__)

UNSEEN = "unseen"
"""`status_reason` of an agent the presence sweep set offline."""


def mark_seen(engine: Engine, agent_ids: Collection[str], at: datetime) -> None:
    """The API saw these agents' screens at `at`, in one statement; never moved back (a
    process whose clock is a little behind another's does not undo its write)."""
    if not agent_ids:
        return
    with engine.begin() as conn:
        conn.execute(
            agents.update()
            .where(
                agents.c.id.in_(sorted(agent_ids)),
                sa.or_(agents.c.last_seen_at.is_(None), agents.c.last_seen_at < at),
            )
            .values(last_seen_at=at)
        )


def _unseen(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        agents.c.status != "offline",
        agents.c.status_changed_at < cutoff,
        sa.or_(agents.c.last_seen_at.is_(None), agents.c.last_seen_at < cutoff),
    )


def set_unseen_offline(engine: Engine, timeout_seconds: float, at: datetime) -> list[str]:
    """Set offline every agent not offline that was neither seen nor changed status in the
    `timeout_seconds` before `at`; the ids of those this call set offline. A read first, so
    the usual sweep (nobody to set offline) takes no write lock (SQLite's one writer)."""
    cutoff = at - timedelta(seconds=timeout_seconds)
    with reads(engine) as conn:
        candidates = list(conn.scalars(sa.select(agents.c.id).where(_unseen(cutoff))))
    if not candidates:
        return []
    try:
        with engine.begin() as conn:
            gone = _set_offline(conn, candidates, cutoff, at)
    finally:  # after the commit, as update_agent does for a status change
        AGENT_TOKENS.forget(engine, lambda agent: agent.id in candidates)
    for agent_id, name in gone:
        logger.info(
            "agent %s (%s) set offline: screen not seen for %gs", name, agent_id, timeout_seconds
        )
    return [agent_id for agent_id, _ in gone]


def _set_offline(
    conn: Connection, candidates: list[str], cutoff: datetime, at: datetime
) -> list[tuple[str, str]]:
    rows = conn.execute(
        agents.update()
        .where(agents.c.id.in_(candidates), _unseen(cutoff))  # again: seen meanwhile, kept
        .values(
            status="offline",
            status_changed_at=at,
            lapses=0,
            updated_at=at,
            status_reason=UNSEEN,
        )
        .returning(agents.c.id, agents.c.name)
    )
    return [(row.id, row.name) for row in rows]


def clear_reason(conn: Connection, agent_id: str) -> None:
    """A status change that is not the sweep's: the reason the sweep gave no longer holds."""
    conn.execute(
        agents.update()
        .where(agents.c.id == agent_id, agents.c.status_reason.is_not(None))
        .values(status_reason=None)
    )


def status_reason(engine: Engine, agent_id: str) -> str | None:
    """Why the server set this agent's current status (`UNSEEN`), or None (the agent or an
    admin chose it)."""
    with reads(engine) as conn:
        return conn.scalar(sa.select(agents.c.status_reason).where(agents.c.id == agent_id))
