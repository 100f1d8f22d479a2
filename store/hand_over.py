"""The Humano block's hand-over in SQL (`omni_hand_over`): resolve the key, enqueue, position
and estimated wait, and a new run's first turn (`FirstTurn`), on one connection and with
statements built once.

Every queued customer runs this, so its cost is the worker's cost per customer: one pool
checkout instead of one per step, 8 statements instead of 13 (the service row without its
transfer group, one read of the service's agents for staffing and free slots, the position in
one statement, the former estimate from the answered waits already read), and statements
prebuilt with bind parameters, so neither building nor caching them is paid per call
(bench/README.md, fourth pass). The rules stay those of the step-by-step functions
(store/integrations.resolve_integration, store/queue.enqueue and position,
store/wait_history.estimated_wait), which the older activities still use.

Retries (the local activity's, or an attempt that outlived its timeout) must not contradict
each other: the queue entry's id is the workflow's, so it is the hand-over's idempotency key.
- Without a first turn to record, the enqueue commits alone, before the reads that follow it
  (on SQLite the writer lock is held for the insert only); nothing else is written, so a later
  attempt may decide the rest (estimate, voicemail) again.
- With one, the entry and the first turn (status `waiting`, the turn, the wait notice built from
  this attempt's estimate) commit in one transaction: both or neither. Two transactions would
  let an entry commit without its turn (then a retry sees no agent and answers `no_agents`
  beside an orphan entry), or two attempts write different notices at one seq (the first
  stays). The price: on SQLite the writer lock also covers the position and wait-history reads
  and the log's writes (one lock turn instead of two).
- An entry already there was made by an earlier attempt: the customer is queued (closed hours
  and agents online are not asked again), and if that attempt recorded the first turn, what it
  recorded is the answer (`FirstTurn.written`), not a new estimate. A concurrent attempt that
  commits the entry first makes this one's insert fail: it starts again and finds it.
Left open: an attempt stalled past its timeout before its insert that commits after a retry
answered `no_agents` (only a written refusal would close that).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from omni import routing
from store import notify, wait_history
from store.common import now
from store.integrations import live_service
from store.tables import queue_entries, services

P = ParamSpec("P")
R = TypeVar("R")


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
    recorded: Any = None
    """The first turn as SQL holds it (`FirstTurn`), when recorded: this attempt's or an
    earlier one's (then `estimate` is not asked)."""


class FirstTurn(Protocol):
    """A new run's first turn, recorded with its queue entry (activities/omni_queue.py)."""

    def write(self, conn: Connection, found: HandOver) -> Any:
        """Write it in the caller's transaction; return what SQL holds then (`written`)."""
        ...

    def written(self, conn: Connection) -> Any:
        """What an attempt recorded; None: nothing yet."""
        ...


ATTEMPTS = 3
"""Tries of one hand-over against a racing writer (see `_again_on_conflict`)."""


def _again_on_conflict(hand_over: Callable[P, R]) -> Callable[P, R]:
    """Another attempt committed the entry, or the API the conversation's row, meanwhile (the
    IntegrityError rolled this one back): again, from what is there now."""

    @functools.wraps(hand_over)
    def again(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(ATTEMPTS):
            try:
                return hand_over(*args, **kwargs)
            except sa.exc.IntegrityError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    return again


@_again_on_conflict
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
    first_turn: FirstTurn | None = None,
) -> HandOver | None:
    """resolve (None: no live integration), then unless `closed` (or nobody logged in when
    `check_agents_online`) enqueue, then if `estimate` and the customer is not going to
    voicemail (nobody available in a service with voicemail) the position and estimated wait;
    `first_turn` recorded with the entry unless going to voicemail (see the module's doc)."""
    with engine.connect() as conn:
        live = live_service(conn, bot, key_hash, service)
        row = conn.execute(_SERVICE, {"id": live[2]}).first() if live else None
        if row is None:
            return None
        staff = wait_history.staff(conn, row.id)
        found = HandOver(row, wait_history.logged_in(staff), wait_history.available(staff))
        if conn.execute(_EXISTS, {"id": entry.entry_id}).first() is not None:
            # An earlier attempt's: the customer stays queued, whoever logged out since (the
            # workflow reads `logged_in == 0` as "no agent online" when the block asks).
            found = replace(found, entry_id=entry.entry_id, logged_in=max(found.logged_in, 1))
            recorded = first_turn.written(conn) if first_turn is not None else None
            if recorded is not None:
                return replace(found, recorded=recorded)
        elif closed or (check_agents_online and found.logged_in == 0):
            return found
        else:
            _insert_entry(conn, entry, row.id)
            found = replace(found, entry_id=entry.entry_id)
        to_voicemail = row.voicemail_seconds > 0 and found.available == 0
        if first_turn is None or to_voicemail:
            conn.commit()  # the enqueue alone
            if not estimate or to_voicemail:
                return found
        if estimate:
            found = replace(found, estimate=_estimate(conn, row, staff, entry.entry_id))
        if first_turn is None:
            return found
        found = replace(found, recorded=first_turn.write(conn, found))
        conn.commit()
    return found


def _estimate(
    conn: Connection, row: Any, staff: Any, entry_id: str
) -> tuple[int | None, int | None]:
    place = position_on(conn, entry_id)
    if place is None:
        return (None, None)
    recent = wait_history.recent(conn, row.id, staff, row.answer_time_seconds, row.agent_capacity)
    return (place, wait_history.estimate(recent, place))


_SERVICE = sa.select(services).where(services.c.id == sa.bindparam("id"))
_EXISTS = sa.select(queue_entries.c.id).where(queue_entries.c.id == sa.bindparam("id"))
_INSERT = queue_entries.insert()


def enqueue_on(conn: Connection, entry: NewEntry, service_id: str) -> None:
    """Insert the waiting entry in its place by priority with aging, once (a retry finds it);
    the caller commits (store/queue.enqueue is this in its own transaction)."""
    if conn.execute(_EXISTS, {"id": entry.entry_id}).first() is None:
        _insert_entry(conn, entry, service_id)


def _insert_entry(conn: Connection, entry: NewEntry, service_id: str) -> None:
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
