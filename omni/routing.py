"""Queue order and offer targets, decided without SQL: priority with aging, skills, idle agents.

**Priority with aging.** An entry's effective priority at `now` is
``priority + waited_seconds / AGING_SECONDS``: one point per minute of waiting, so a priority-5
contact is served before ordinary ones that arrived up to five minutes before it, and nobody
starves (an ordinary contact that waited six minutes passes a priority-5 one that just came).
Because every entry ages at the same rate, the order never depends on `now`: sorting by
effective priority (highest first) is sorting by :func:`rank_at` (earliest first),
``enqueued_at - priority * AGING_SECONDS``, a fixed "virtual arrival time" SQL stores and indexes.

**Skills.** An entry may require skills; only an agent having all of them may be offered or
take it (also by manual `next`).

**Who gets an offer.** Among the service's agents who may take the entry (available, serving
the service, the skills, a free slot: conversations in service + open offers < capacity, and
in this service < its `agent_capacity` if set, store/capacity.py), the
one offered this entry the fewest times so far (so a declined or lapsed offer goes to the next
agent; who declined the latest offer is left out), then the one idle longest (``idle_since``:
the later of its last assignment and its last status change, e.g. going available), then by
id. Entries are served in queue order: the first in line gets the first suitable agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

AGING_SECONDS = 60
"""Seconds of waiting worth one point of priority."""
MIN_PRIORITY = -100
MAX_PRIORITY = 100
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def clamp_priority(value: int) -> int:
    return max(MIN_PRIORITY, min(MAX_PRIORITY, value))


def effective_priority(priority: int, waited_seconds: float) -> float:
    """The priority an entry has after waiting `waited_seconds` (aging: +1 per AGING_SECONDS)."""
    return priority + max(waited_seconds, 0.0) / AGING_SECONDS


def rank_at(enqueued_at: datetime, priority: int) -> datetime:
    """The virtual arrival time: ordering by it (earliest first) is ordering by effective
    priority (highest first) at any instant, ties by arrival."""
    return enqueued_at - timedelta(seconds=priority * AGING_SECONDS)


def has_skills(agent_skills: Iterable[str], required: Iterable[str]) -> bool:
    """The agent has every required skill (case-insensitive)."""
    have = {skill.casefold() for skill in agent_skills}
    return all(skill.casefold() in have for skill in required)


@dataclass(frozen=True)
class Waiting:
    entry_id: str
    rank_at: datetime
    skills: tuple[str, ...] = ()
    tried: dict[str, int] = field(default_factory=dict)
    """Agent id → offers of this entry that agent already had (declined or lapsed)."""
    declined_by: str | None = None
    """The agent who declined the entry's latest offer: not offered it again until another
    agent has been (it may still take it from the queue)."""


@dataclass(frozen=True)
class FreeAgent:
    agent_id: str
    free_slots: int
    skills: tuple[str, ...] = ()
    idle_since: datetime | None = None


def match(waiting: Sequence[Waiting], agents: Sequence[FreeAgent]) -> list[tuple[str, str]]:
    """(entry id, agent id) offers to make now: entries in queue order, each to its best agent."""
    slots = {agent.agent_id: agent.free_slots for agent in agents}
    offers: list[tuple[str, str]] = []
    for entry in sorted(waiting, key=lambda entry: (entry.rank_at, entry.entry_id)):
        suitable = [
            agent
            for agent in agents
            if slots[agent.agent_id] > 0
            and agent.agent_id != entry.declined_by
            and has_skills(agent.skills, entry.skills)
        ]
        if not suitable:
            continue
        best = min(
            suitable,
            key=lambda agent: (
                entry.tried.get(agent.agent_id, 0),
                agent.idle_since or NEVER,
                agent.agent_id,
            ),
        )
        slots[best.agent_id] -= 1
        offers.append((entry.entry_id, best.agent_id))
    return offers
