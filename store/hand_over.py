"""The Humano block's hand-over in SQL (`omni_hand_over`): resolve the key, enqueue, position
and estimated wait, on one connection and with statements built once.

Every queued customer runs this, so its cost is the worker's cost per customer: one pool
checkout instead of one per step, 8 statements instead of 13 (the service row without its
transfer group, one read of the service's agents for staffing and free slots, the position in
one statement, the former estimate from the answered waits already read), and statements
prebuilt with bind parameters, so neither building nor caching them is paid per call
(bench/README.md, fourth pass). The rules stay those of the step-by-step functions
(store/integrations.resolve_integration, store/queue.enqueue and position,
store/wait_history.estimated_wait), which the older activities still use.

The write is the enqueue's alone and commits before the reads that follow it (position, wait
history): on SQLite the writer lock is held for the insert only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from omni import routing
from store import notify, wait_history
from store.common import now
from store.integrations import live_service
from store.tables import queue_entries, services


@dataclass(frozen=True)
class NewEntry:
    entry_id: str
    conversation_id: str
    workflow_id: str
    preview: str
    priority: int = 0
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandOver:
    service: Any
    """The service's row (`services`)."""
    logged_in: int
    available: int
    entry_id: str | None = None
    """None: not queued (closed, or no agent online when that was asked)."""
    estimate: tuple[int | None, int | None] | None = None
    """(position, seconds) when asked; (None, None) when the entry stopped waiting already."""


def hand_over(
    engine: Engine,
    *,
    bot: str,
    key_hash: str,
    service: str | None,
    entry: NewEntry,
    closed: bool,
    check_agents_online: bool,
    estimate: bool,
) -> HandOver | None:
    """resolve (None: no live integration), then unless `closed` (or nobody logged in when
    `check_agents_online`) enqueue, then if `estimate` and the customer is not going to
    voicemail (nobody available in a service with voicemail) the position and estimated wait."""
    with engine.connect() as conn:
        live = live_service(conn, bot, key_hash, service)
        row = conn.execute(_SERVICE, {"id": live[2]}).first() if live else None
        if row is None:
            return None
        staff = wait_history.staff(conn, row.id)
        found = HandOver(row, wait_history.logged_in(staff), wait_history.available(staff))
        if closed or (check_agents_online and found.logged_in == 0):
            return found
        enqueue_on(conn, entry, row.id)
        conn.commit()
        found = replace(found, entry_id=entry.entry_id)
        if not estimate or (row.voicemail_seconds > 0 and found.available == 0):
            return found
        place = position_on(conn, entry.entry_id)
        if place is None:
            return replace(found, estimate=(None, None))
        recent = wait_history.recent(
            conn, row.id, staff, row.answer_time_seconds, row.agent_capacity
        )
    return replace(found, estimate=(place, wait_history.estimate(recent, place)))


_SERVICE = sa.select(services).where(services.c.id == sa.bindparam("id"))
_EXISTS = sa.select(queue_entries.c.id).where(queue_entries.c.id == sa.bindparam("id"))
_INSERT = queue_entries.insert()


def enqueue_on(conn: Connection, entry: NewEntry, service_id: str) -> None:
    """Insert the waiting entry in its place by priority with aging, once (a retry finds it);
    the caller commits (store/queue.enqueue is this in its own transaction)."""
    if conn.execute(_EXISTS, {"id": entry.entry_id}).first() is not None:
        return
    at = now()
    conn.execute(
        _INSERT,
        {
            "id": entry.entry_id,
            "conversation_id": entry.conversation_id,
            "workflow_id": entry.workflow_id,
            "service_id": service_id,
            "status": "waiting",
            "enqueued_at": at,
            "preview": entry.preview[:200],
            "priority": entry.priority,
            "skills": list(entry.skills) or None,
            "rank_at": routing.rank_at(at, entry.priority),
        },
    )
    notify.queue_changed(conn)


_mine = queue_entries.alias("mine")
_mine_rank = sa.func.coalesce(_mine.c.rank_at, _mine.c.enqueued_at)
_rank = sa.func.coalesce(queue_entries.c.rank_at, queue_entries.c.enqueued_at)
_AHEAD = (
    sa.select(sa.func.count())
    .where(
        queue_entries.c.service_id == _mine.c.service_id,
        queue_entries.c.status == "waiting",
        sa.or_(
            _rank < _mine_rank,
            sa.and_(_rank == _mine_rank, queue_entries.c.id < _mine.c.id),
        ),
    )
    .scalar_subquery()
)
_POSITION = sa.select(_mine.c.status, _AHEAD).where(_mine.c.id == sa.bindparam("id"))


def position_on(conn: Connection, entry_id: str) -> int | None:
    """1 for the next in line (queue order: store/queue.rank_order); None when the entry is
    no longer waiting. One statement: the entry and the count of those ahead of it."""
    row = conn.execute(_POSITION, {"id": entry_id}).first()
    if row is None or row[0] != "waiting":
        return None
    return int(row[1] or 0) + 1
