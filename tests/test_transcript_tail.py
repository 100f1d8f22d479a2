"""The transcript tail a conversation keeps: in seq order, whatever order entries arrive in."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.contracts import Message
from workflows.transcript_tail import RECENT_MESSAGES, between, keep

AT = datetime(2026, 12, 1, tzinfo=UTC)


def entry(seq: int) -> Message:
    return Message(seq=seq, sender="bot", text=f"#{seq}", at=AT)


def test_an_entry_kept_after_later_ones_reads_in_its_place() -> None:
    """Entries kept out of seq order (2 and 3 after 4) read in order: a turn's answer after
    seq 1 holds all three, one after seq 3 only the last."""
    recent: list[Message] = []
    for seq in (1, 4, 2, 3):
        keep(recent, entry(seq))
    assert [m.seq for m in recent] == [1, 2, 3, 4]
    assert [m.seq for m in between(recent, 1)] == [2, 3, 4]
    assert [m.seq for m in between(recent, 1, 3)] == [2, 3]
    assert [m.seq for m in between(recent, 3)] == [4]
    assert between(recent, 4) == []


def test_the_tail_keeps_the_newest_entries_only() -> None:
    recent: list[Message] = []
    for seq in range(1, RECENT_MESSAGES + 11):
        keep(recent, entry(seq))
    assert len(recent) == RECENT_MESSAGES
    assert recent[0].seq == 11 and recent[-1].seq == RECENT_MESSAGES + 10
    assert [m.seq for m in between(recent, 0, 12)] == [11, 12]  # older ones are SQL's
