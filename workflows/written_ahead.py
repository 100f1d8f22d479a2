"""What a run knows of the transcript entries its callers write to the SQL log themselves
("ahead mode", workflows/message_log.py). Plain Python, no Temporal: the pump asks it when to
record, so those decisions read and test on their own (tests/test_log_ahead.py).

A run is in ahead mode from its first `log_ahead` request on. Entries written ahead wait in
the outbox without making the pump record; anything else (an entry no caller wrote, a status
that differs from the one the log has) makes it record the whole outbox. Once AHEAD_BATCH
entries wait, or when the run is about to close or continue as new, everything is recorded
(the backstop), so the pump's own last record holds every entry and the last status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

AHEAD_BATCH = 50
"""In ahead mode, written-ahead entries are recorded (as the backstop) once this many wait."""

StatusColumns = tuple[Any, ...]
"""What a record writes besides entries: status, block, service, agent (`_log_status`)."""


class Entry(Protocol):
    @property
    def seq(self) -> int: ...


@dataclass
class WrittenAhead:
    on: bool = False
    """A `log_ahead` request came in this run."""
    seqs: set[int] = field(default_factory=set)
    """Seqs in the outbox that a caller writes itself."""
    logged: StatusColumns | None = None
    """The status the log has, written by the pump or by a caller."""
    recorded: StatusColumns | None = None
    """The status the pump (or the hand-over) recorded itself: the backstop's."""
    closing: bool = False
    """The run is about to continue as new: everything is recorded first (raised while the
    run, due, has no delivery under way: workflows/continuing.py)."""

    def mark(
        self,
        entries: Sequence[Entry],
        outbox: Iterable[Entry],
        newest: int,
        status: StatusColumns,
    ) -> bool:
        """Callers write `entries` (those still in the outbox are left to them); True when they
        end at the run's newest seq: the caller's write then carries `status`, which the log
        has from then on."""
        waiting = {entry.seq for entry in outbox}  # (a repeated answer's may be recorded)
        self.seqs.update(entry.seq for entry in entries if entry.seq in waiting)
        if not entries or max(entry.seq for entry in entries) != newest:
            return False
        self.logged = status
        return True

    def due(self, outbox: Sequence[Entry], status: StatusColumns, ending: bool) -> bool:
        """Whether the pump records now (asked only while no handler runs)."""
        if ending or self.closing:
            return not self.idle(outbox, status)
        behind = any(entry.seq not in self.seqs for entry in outbox)
        return behind or len(outbox) >= AHEAD_BATCH or status != self.logged

    def idle(self, outbox: Sequence[Entry], status: StatusColumns) -> bool:
        """The pump itself recorded everything: the run may close."""
        return not outbox and status == self.recorded

    def taking(self, batch: Sequence[Entry], status: StatusColumns) -> None:
        """The pump takes `batch` with `status` (callers may write newer ones meanwhile)."""
        self.seqs.difference_update(entry.seq for entry in batch)
        self.logged = status

    def forget(self) -> None:
        """A caller's write did not happen: nothing is taken as written any more."""
        self.seqs.clear()
        self.logged = None
