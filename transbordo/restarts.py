"""When `transbordo up` starts a child that exited again: after a pause of 1 s the first time,
doubling while it keeps exiting soon after each start (1 s, 2 s, 4 s ... 30 s), so a
child that cannot start (a setting, a missing search attribute) is not restarted every second
forever; one that stayed up a while (`STAYED_UP_SECONDS`) starts over at 1 s.

The clock is passed in (`time.monotonic()` in `up`), so the policy is tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
STAYED_UP_SECONDS = 60.0
"""A child that ran this long before exiting was not failing at its start: back to 1 s."""


@dataclass
class Backoff:
    """One child's restarts: `exited` when it is seen exited, `restart` whether to start it."""

    pause: float = 0.0
    """The pause before the pending (or the last) restart; 0 before any."""
    started_at: float = 0.0
    due_at: float | None = None
    """When the pending restart is due; None while the child runs."""

    def started(self, now: float) -> None:
        self.started_at = now
        self.due_at = None

    def exited(self, now: float) -> float | None:
        """The pause before restarting a child that exited at `now`: set the first time this is
        asked after an exit (returned, to be said once), None when asked again."""
        if self.due_at is not None:
            return None
        quick = now - self.started_at < STAYED_UP_SECONDS
        doubled = min(self.pause * 2, LONGEST_PAUSE_SECONDS)
        self.pause = doubled if quick and self.pause else FIRST_PAUSE_SECONDS
        self.due_at = now + self.pause
        return self.pause

    def restart(self, now: float) -> bool:
        """Whether the pending restart is due at `now` (if so, the child counts as started)."""
        if self.due_at is None or now < self.due_at:
            return False
        self.started(now)
        return True
