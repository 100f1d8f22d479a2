"""Staffing advice: agents needed for a service-level target (Erlang C, Erlang A). Pure.

Erlang C is the M/M/N queue (Poisson arrivals, exponential handle times, N agents, nobody
leaves); Erlang A (M/M/N+M) adds customers who abandon after an exponential patience. Both are
computed without factorials or powers: Erlang B by its recursion, the rest from it, so large
loads (hundreds of agents) stay finite. docs/staffing.md has the formulas and a worked example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

MAX_AGENTS = 2000
"""The search for agents needed gives up past this (an unreachable target)."""
QUEUE_TAIL = 1e-14
"""Erlang A: the waiting states are summed until a term is this small against the total."""
POISSON_TAIL = 1e-12
"""Erlang A uniformization: steps are taken until this little Poisson mass is left."""


class Unreachable(ValueError):
    """No staffing up to MAX_AGENTS reaches the target (the forecast reports it, not a 500)."""


@dataclass(frozen=True)
class Workload:
    """What one interval asks of a service."""

    arrivals_per_second: float
    handle_seconds: float
    """Mean handle time (pickup to finish)."""
    patience_seconds: float | None = None
    """Mean patience of customers who abandon; None → nobody abandons (Erlang C)."""

    @property
    def erlangs(self) -> float:
        """Offered load: arrivals × handle time (agents busy on average with no queue)."""
        return self.arrivals_per_second * self.handle_seconds


@dataclass(frozen=True)
class Outlook:
    """What N agents achieve for a workload."""

    agents: int
    probability_wait: float
    service_level: float
    """Share of arrivals answered within the answer time (abandoned ones count as missed)."""
    average_speed_of_answer: float
    """Mean wait of all arrivals, seconds (inf when the queue grows without bound)."""
    abandon_rate: float
    """Share of arrivals who abandon (0 for Erlang C)."""


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of N servers and load A: B(0)=1, B(k) = A·B(k-1) / (k + A·B(k-1))."""
    if agents < 0 or erlangs < 0:
        raise ValueError("agents and erlangs must not be negative")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = erlangs * blocking / (k + erlangs * blocking)
    return blocking


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability an arrival waits: C = N·B / (N − A·(1 − B)); 1 when N ≤ A (no steady state)."""
    if agents <= erlangs:
        return 1.0
    blocking = erlang_b(agents, erlangs)
    return agents * blocking / (agents - erlangs * (1 - blocking))


def outlook(agents: int, work: Workload, answer_seconds: float) -> Outlook:
    """Erlang A when the workload has a patience, else Erlang C."""
    if work.arrivals_per_second <= 0:
        return Outlook(agents, 0.0, 1.0, 0.0, 0.0)
    if work.patience_seconds is None or work.patience_seconds <= 0:
        return _erlang_c_outlook(agents, work, answer_seconds)
    return _erlang_a_outlook(agents, work, answer_seconds)


@lru_cache(maxsize=4096)
def agents_needed(work: Workload, target_percent: float, answer_seconds: float) -> int:
    """The fewest agents whose service level reaches target_percent within answer_seconds
    (remembered: the supervisor screen asks again for the same half hours every 30 s)."""
    if work.arrivals_per_second <= 0:
        return 0
    target = min(max(target_percent, 0.0), 100.0) / 100 - 1e-12

    def enough(agents: int) -> bool:
        if work.patience_seconds is None:
            if agents <= work.erlangs:
                return False  # Erlang C: the line grows without bound
        elif 1 - _erlang_a_law(agents, work).abandon_rate < target:
            return False  # every abandonment is a miss: no need to time the waits
        return outlook(agents, work, answer_seconds).service_level >= target

    low, high = 0, max(1, math.ceil(work.erlangs))  # the service level grows with the agents
    while not enough(high):
        low, high = high, high * 2
        if high > MAX_AGENTS:
            raise Unreachable(f"no staffing up to {MAX_AGENTS} agents reaches the target")
    while high - low > 1:  # enough(high) and (low == 0 or not enough(low))
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def _erlang_c_outlook(agents: int, work: Workload, answer_seconds: float) -> Outlook:
    load = work.erlangs
    if agents <= load:
        return Outlook(agents, 1.0, 0.0, math.inf, 0.0)
    waits = erlang_c(agents, load)
    spare_rate = (agents - load) / work.handle_seconds
    return Outlook(
        agents=agents,
        probability_wait=waits,
        service_level=1 - waits * math.exp(-spare_rate * answer_seconds),
        average_speed_of_answer=waits / spare_rate,
        abandon_rate=0.0,
    )


@dataclass(frozen=True)
class _Law:
    """Erlang A's stationary law as an arrival sees it (PASTA)."""

    finds_busy: list[float]
    """P(all agents busy and j already waiting), j = 0, 1, ... (the negligible tail cut)."""
    service: float
    """N·μ: how fast the line moves while all agents are busy."""
    theta: float
    average_speed_of_answer: float
    abandon_rate: float


def _erlang_a_law(agents: int, work: Workload) -> _Law:
    """M/M/N+M: the birth-death chain's stationary law (cheap; no waits timed)."""
    assert work.patience_seconds is not None
    arrival = work.arrivals_per_second
    service = agents / work.handle_seconds  # all agents busy: the queue moves at N·μ
    theta = 1 / work.patience_seconds
    queue = _queue_weights(arrival, service, theta)  # π_{N+j} / π_N, j = 0, 1, ...
    below = 1 / erlang_b(agents, work.erlangs)  # Σ_{n<=N} π_n / π_N
    total = below - 1 + sum(queue)
    finds_busy = [weight / total for weight in queue]
    mean_queue = sum(j * p for j, p in enumerate(finds_busy))  # E[Lq]
    while len(finds_busy) > 1 and finds_busy[-1] < QUEUE_TAIL:
        finds_busy.pop()  # positions nobody is found in: no work for the uniformization
    # Little's law on the line (PASTA: what arrivals find is the time average): E[W] = E[Lq]/λ;
    # everyone waiting abandons at rate θ, so abandonments per arrival are θ·E[Lq]/λ
    return _Law(finds_busy, service, theta, mean_queue / arrival, theta * mean_queue / arrival)


def _erlang_a_outlook(agents: int, work: Workload, answer_seconds: float) -> Outlook:
    """The stationary law, then each waiting arrival's chance to be answered in time."""
    law = _erlang_a_law(agents, work)
    served_in_time = _served_within(law.finds_busy, law.service, law.theta, answer_seconds)
    waits = sum(law.finds_busy)
    return Outlook(
        agents=agents,
        probability_wait=waits,
        service_level=(1 - waits) + served_in_time,
        average_speed_of_answer=law.average_speed_of_answer,
        abandon_rate=law.abandon_rate,
    )


def _queue_weights(arrival: float, service: float, theta: float) -> list[float]:
    """π_{N+j} / π_N for j = 0, 1, ...: each step multiplies by λ / (N·μ + j·θ)."""
    weights = [1.0]
    total = 1.0
    j = 0
    while True:
        j += 1
        weights.append(weights[-1] * arrival / (service + j * theta))
        total += weights[-1]
        if weights[-1] < QUEUE_TAIL * total and arrival < service + j * theta:
            return weights


def _served_within(finds: list[float], service: float, theta: float, limit: float) -> float:
    """P(an arrival finds all agents busy and reaches an agent within `limit` seconds).

    An arrival with k waiting ahead moves to k−1 at rate N·μ + k·θ (a pickup or one ahead
    abandoning) and reaches an agent from k = 0 at rate N·μ; it abandons at rate θ meanwhile.
    The chain is solved by uniformization: steps at rate Λ, counted by a Poisson law."""
    top = len(finds)
    uniform = service + (top - 1) * theta + theta
    state = finds[:]  # mass at k waiting ahead, an arrival's own position
    served = 0.0
    mean_steps = uniform * limit
    log_weight = -mean_steps  # log Poisson(0; Λt)
    remaining = 1.0
    result = 0.0
    step = 0
    while remaining > POISSON_TAIL:
        weight = math.exp(log_weight)
        result += weight * served
        remaining -= weight
        step += 1
        if step > mean_steps + 50 * math.sqrt(mean_steps + 1) + 50:
            break
        log_weight += math.log(mean_steps) - math.log(step) if mean_steps > 0 else -math.inf
        served, state = _one_step(state, served, service, theta, uniform)
    return result + remaining * served


def _one_step(
    state: list[float], served: float, service: float, theta: float, uniform: float
) -> tuple[float, list[float]]:
    moved = [0.0] * len(state)
    served += state[0] * service / uniform
    for k, mass in enumerate(state):
        if mass == 0.0:
            continue
        down = (service + k * theta) / uniform if k else 0.0
        stay = 1 - theta / uniform - (service / uniform if k == 0 else down)
        moved[k] += mass * stay
        if k:
            moved[k - 1] += mass * down
    return served, moved
