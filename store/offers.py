"""The offers of waiting entries to agents, in SQL: the small steps other store modules share.

An offer is `open` until the agent accepts it (the claim turns it `accepted`), declines it,
lets it lapse, or the entry stops waiting (`withdrawn`). At most one open offer per entry (a
partial unique index); an agent's open offers count against its capacity like conversations.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store.common import now
from store.tables import agents, offers


def withdraw(conn: Connection, entry_id: str) -> None:
    """The entry stopped waiting (abandoned, voicemail, transferred): its open offer ends."""
    conn.execute(
        offers.update()
        .where(offers.c.entry_id == entry_id, offers.c.status == "open")
        .values(status="withdrawn", ended_at=now())
    )


def open_count(conn: Connection, agent_id: str, except_entry: str | None = None) -> int:
    """The agent's open offers (each holds one slot of its capacity)."""
    query = sa.select(sa.func.count()).where(
        offers.c.agent_id == agent_id, offers.c.status == "open"
    )
    if except_entry is not None:
        query = query.where(offers.c.entry_id != except_entry)
    return int(conn.scalar(query) or 0)


def offered_to_other(conn: Connection, entry_id: str, agent_id: str) -> bool:
    """The entry has an open offer to another agent (it is reserved for that agent)."""
    found = conn.execute(
        sa.select(offers.c.id).where(
            offers.c.entry_id == entry_id,
            offers.c.status == "open",
            offers.c.agent_id != agent_id,
        )
    ).first()
    return found is not None


def accepted(conn: Connection, entry_id: str, agent_id: str) -> None:
    """The agent took the entry: its open offer (if any) is accepted, its lapse count reset."""
    conn.execute(
        offers.update()
        .where(
            offers.c.entry_id == entry_id,
            offers.c.agent_id == agent_id,
            offers.c.status == "open",
        )
        .values(status="accepted", ended_at=now())
    )
    conn.execute(agents.update().where(agents.c.id == agent_id).values(lapses=0))


def reserved_entries(excluding_agent: str) -> sa.Select[tuple[str]]:
    """Entry ids with an open offer to another agent (`next` skips them: an offered entry
    waits for its agent)."""
    return sa.select(offers.c.entry_id).where(
        offers.c.status == "open", offers.c.agent_id != excluding_agent
    )


def skip_agent(conn: Connection, entry_id: str, agent_id: str) -> None:
    """Offer the entry to another agent first: the agent who went silent on it is recorded as
    having declined it (store/routing offers a declined entry to another agent first)."""
    at = now()
    conn.execute(
        offers.insert().values(
            id=f"ofr_{entry_id}"[:40],
            entry_id=entry_id,
            agent_id=agent_id,
            status="declined",
            created_at=at,
            expires_at=at,
            ended_at=at,
        )
    )
