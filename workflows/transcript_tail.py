"""The transcript's tail a conversation keeps (`conv.recent`): in seq order, read by seq.

Every answer is the entries after the previous one (`ConversationWorkflow._reply_for`); with the
tail full (RECENT_MESSAGES), a scan of it all took 20 µs (timeit; ~0.1 ms under cProfile in the
worker) on a 2-core VM (bench/README.md, sixteenth pass). Kept in seq order, it is read by
bisection.
Entries arrive in seq order today: even a hand-over's first-turn entries, which join after the
hand-over at seqs reserved before it (workflows/message_log.py `_took_recorded`), do so under
the handler's lock, before anything else is appended. `keep` inserts by seq all the same, so
the order holds by construction rather than by that reasoning.
"""

from __future__ import annotations

from bisect import bisect_right, insort

from workflows.contracts import Message

RECENT_MESSAGES = 200
"""Transcript entries kept in the workflow (the SQL log keeps them all)."""


def keep(recent: list[Message], message: Message) -> list[Message]:
    """Add `message` at its seq's place; the oldest go past RECENT_MESSAGES (returned)."""
    insort(recent, message, key=_seq)
    if len(recent) <= RECENT_MESSAGES:
        return []
    dropped = recent[:-RECENT_MESSAGES]
    del recent[:-RECENT_MESSAGES]
    return dropped


def between(recent: list[Message], since: int, through: int | None = None) -> list[Message]:
    """The entries with `since` < seq (<= `through`)."""
    start = bisect_right(recent, since, key=_seq)
    end = len(recent) if through is None else bisect_right(recent, through, key=_seq)
    return recent[start:end]


def _seq(message: Message) -> int:
    return message.seq
