"""The estimated wait of a queued customer, from the service's own recent history (pure).

Model: the agents online (`agents`) each free a slot every `H` seconds on average, `H` being the
median handle time of the service's recent finished conversations. A customer at `position` with
`free_slots` free right now is taken when the `position - free_slots`-th slot frees up after
them, i.e. after `(position - free_slots) * H / agents` seconds, plus the usual pickup delay
(the median wait of recently answered customers who found a free slot, else 0). With nobody
available this model has no figure (None): store/wait_history.py then gives the former one while
agents are online (paused, away) and none at all when every agent of the service is offline (no
wait is promised to the customer). With no history the service's answer-time target stands in
for `H`. Figures: bench/wait_estimate.py (mean absolute error against simulated waits).

The model looks at the queue as it is now, not at how long this customer has waited: a customer
who waited out the figure they were told would hear it again (one free agent who does not pick
up: "menos de 1 minuto" every few minutes; "cerca de 10 minutos" for ever while the only agent
is paused). `honest_figure` keeps the periodic notices true: a figure read counts down while
nothing moves, and once the customer has waited it out they read no figure again, only their
place and that the wait is longer than foreseen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

MIN_HISTORY = 3
"""Fewer finished conversations than this: the answer-time target stands in for handle time."""


@dataclass(frozen=True)
class WaitHistory:
    """What the service's recent past says (read by store/wait_history.py)."""

    handle_seconds: Sequence[float]
    """Handle times (pickup → finish) of recent finished conversations, newest first."""
    pickup_seconds: Sequence[float]
    """Short waits of recently answered customers (those who found a free agent): the pickup
    delay."""
    agents: int
    """Agents of the service available now."""
    free_slots: int
    """Free capacity now (available agents' capacity minus their conversations)."""
    target_seconds: int
    """The service's "Tempo Atendimento": stands in for handle time with no history."""


def handle_time(history: WaitHistory) -> float:
    """Median recent handle time, or the target when the history is too short."""
    if len(history.handle_seconds) < MIN_HISTORY:
        return float(history.target_seconds)
    return float(median(history.handle_seconds))


def estimate_seconds(history: WaitHistory, position: int) -> int | None:
    """Seconds until an agent takes the customer at `position` (1 = next); None: nobody
    available."""
    if history.agents <= 0 or position < 1:
        return None
    delay = float(median(history.pickup_seconds)) if history.pickup_seconds else 0.0
    behind = max(position - max(history.free_slots, 0), 0)
    return max(int(math.ceil(delay + behind * handle_time(history) / history.agents)), 0)


@dataclass(frozen=True)
class Notice:
    """The last wait notice a customer was sent."""

    position: int
    seconds: int


def worth_telling(
    last: Notice | None, new: Notice, *, change: int, checks: int, repeat: int
) -> bool:
    """Send a new notice? The first one; when the position improved; when the estimate moved
    by at least `change` seconds; or, as a sign of life, every `repeat` checks since the last."""
    if last is None:
        return True
    if new.position < last.position or abs(new.seconds - last.seconds) >= change:
        return True
    return checks >= repeat


@dataclass(frozen=True)
class Told:
    """The last figure a waiting customer read (a notice that gave one)."""

    seconds: int
    ago: float
    """Seconds since it was sent."""


def honest_figure(
    last: Notice | None, new: Notice, told: Told | None, *, change: int
) -> int | None:
    """The figure to tell a waiting customer, `new` being the model's look now and `last` its
    look at the last notice. A figure read counts down: unless the model's estimate grew by
    `change` (the wait got longer: said), the customer reads what is left of the last figure or
    the estimate, whichever is shorter (a better place in line never raises the figure). None
    once they have waited it out: the model was wrong for them and nothing it says now is
    credible; the notice gives the place in line and says the wait is longer than foreseen.
    Such a notice promises nothing, so the broken figure stays the last one read: no figure
    again in this queue."""
    if told is None:
        return new.seconds
    left = math.floor(told.seconds - told.ago)  # down: a countdown never moves it later
    if left <= 0:
        return None
    grew = last is not None and new.seconds - last.seconds >= change
    return new.seconds if grew else min(new.seconds, left)
