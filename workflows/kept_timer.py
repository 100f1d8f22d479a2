"""The conversation's one Temporal timer, kept while its deadline only moves later.

Every customer turn moves the idle deadline on. Waiting with `wait_condition(timeout=...)`
cancelled the timer and started a new one on every turn: two commands and two history events
more than the Update itself, each turn (+20 % on an Update's latency: bench/README.md, fourth
pass). Kept instead, the timer fires at the old deadline, finds the deadline later, and is armed
once for the rest: one timer per idle period instead of one per turn. A deadline that moves
earlier (a question's timeout) cancels it and arms a new one, as before.

When the run closes (the conversation ended, or it continues as new) a run at code version 2
leaves its timer pending (`close`): the server drops a closed run's timers, so cancelling cost
one command and one TIMER_CANCELED event per conversation for nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

from workflows import patches


class KeptTimer:
    """One pending timer (an `asyncio.sleep` task: a durable Temporal timer) and its deadline."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._at: datetime | None = None

    def arm(self, at: datetime | None) -> None:
        """A timer for `at` (None: none runs). The pending one stays when `at` is not earlier."""
        if self._task is not None and (at is None or self._at is None or at < self._at):
            self.cancel()
        if self._task is None and at is not None:
            self._at = at
            delay = max((at - workflow.now()).total_seconds(), 0.0)
            self._task = asyncio.create_task(asyncio.sleep(delay))

    def fired(self) -> bool:
        return self._task is not None and self._task.done()

    def take(self, at: datetime | None) -> bool:
        """After it fired: forget it, and say whether `at` (the deadline now) is the one it was
        armed for, i.e. a timer is due (False: the deadline moved on; arm again)."""
        armed, self._task, self._at = self._at, None, None
        return at is not None and armed is not None and at <= armed

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task, self._at = None, None


def close(timer: KeptTimer | None) -> None:
    """The run is closing: its timer goes with it. Runs from code version 2 leave it pending
    (nothing waits on it; should it fire before the run closes, it is a TIMER_FIRED no code
    reads); older runs cancelled it, and replay as recorded."""
    if timer is not None and patches.run_version() < 2:
        timer.cancel()
