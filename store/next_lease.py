"""`next`'s lease: a mark of a few seconds on a waiting entry, "agent X's `next` is picking
this one up", so concurrent `POST /agent/next` calls spread over different conversations.

Without it every `next` read the same head of the queue and sent its pickup Update to the same
conversation: all but one waited for the winner's whole pickup (the workflow's lock), lost with
`taken`, and tried the next candidate, which the other racers were also trying (bench/README.md,
"`next` without races: a lease"). Now `next` reads candidates not leased to another agent
(`free_for`) and takes a lease on one with a compare-and-set (`take`) before its pickup; a lost
compare-and-set costs one SQL statement, not a workflow task.

Only `next` reads the lease. The claim (store/queue.claim, the workflow's local activity) stays
the authority between racing agents and ignores it, as do offers, their accept and a pickup by
id: a lease never blocks a pickup, it only steers `next`. The claim does not clear the columns:
they mean something only while the entry is `waiting`, which a claimed or closed entry never is
again (a transfer makes a new entry), and every read and compare-and-set here asks for
`waiting`; so the claim's transaction stays as it was. A lease of an API process that died
simply expires (`Settings.next_lease_seconds`). Its times are the API process's clock, as every
time the store writes: replicas a few milliseconds apart move a 10 s lease by as much.
`next_lease_agent` has no foreign key: a deleted agent's lease just expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from store import offers
from store.common import now
from store.tables import queue_entries


def free_for(
    agent_id: str | sa.BindParameter[Any], at: datetime | sa.BindParameter[Any]
) -> sa.ColumnElement[bool]:
    """Entries this agent's `next` may lease at `at`: never leased, lease expired, or its own
    (the agent's `next` asked again, say after a lost answer)."""
    return sa.or_(
        queue_entries.c.next_lease_until.is_(None),
        queue_entries.c.next_lease_until < at,
        queue_entries.c.next_lease_agent == agent_id,
    )


def take(
    engine: Engine, entry_id: str, agent_id: str, seconds: float, at: datetime | None = None
) -> bool:
    """Lease the waiting entry to the agent for `seconds` from `at` (now); False when it
    stopped waiting or another agent's `next` holds an unexpired lease on it. One conditional
    UPDATE: of two agents racing, exactly one gets rowcount 1 (PostgreSQL re-checks the
    condition on the row the other committed; SQLite has one writer at a time). An entry
    offered to the agent is its own whatever the lease says (the offer reserved it already)."""
    at = at or now()
    params = {"l_entry": entry_id, "l_agent": agent_id, "l_at": at}
    with engine.begin() as conn:
        leased = conn.execute(_TAKE, {**params, "l_until": at + timedelta(seconds=seconds)})
    return leased.rowcount == 1


_agent: sa.BindParameter[str] = sa.bindparam("l_agent")
_at = sa.bindparam("l_at", type_=queue_entries.c.next_lease_until.type)
_TAKE = (
    queue_entries.update()
    .where(
        queue_entries.c.id == sa.bindparam("l_entry"),
        queue_entries.c.status == "waiting",
        sa.or_(free_for(_agent, _at), queue_entries.c.id.in_(offers.offered_to(_agent))),
    )
    .values(
        next_lease_agent=_agent,
        next_lease_until=sa.bindparam("l_until", type_=queue_entries.c.next_lease_until.type),
    )
)  # built once, as store/hand_over.py's statements: every `next` runs it


def release(engine: Engine, entry_id: str, agent_id: str) -> None:
    """Give the lease back (the agent's pickup was refused): other agents' `next` may take the
    entry at once. Nothing when the lease is no longer the agent's."""
    with engine.begin() as conn:
        conn.execute(
            queue_entries.update()
            .where(queue_entries.c.id == entry_id, queue_entries.c.next_lease_agent == agent_id)
            .values(next_lease_agent=None, next_lease_until=None)
        )
