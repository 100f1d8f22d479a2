"""The estimated wait's error: simulated service history against the waits that happened.

A service is simulated as an M/M/c queue, first come first served: Poisson arrivals,
exponential handle times, `c` agents of capacity 1, each pickup taking a few seconds (the agent
clicks). At every arrival the estimator (omni/wait_estimate.py) is fed what SQL would hold at
that instant (the last 50 finished handle times, the last 50 answered waits, agents and free
slots) and the customer's position; its answer is compared with the wait that customer then had.
The former estimator (recent average wait x position / agents) is measured beside it.

    python bench/wait_estimate.py [--customers 20000] [--seed 7]

Pure Python, no servers: a few seconds on one core.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
from collections import deque
from dataclasses import dataclass

from omni.wait_estimate import WaitHistory, estimate_seconds
from store.wait_history import PROMPT_PICKUP_SECONDS, RECENT

OLD_RECENT = 20
"""The former estimator's window (store.wait_history.RECENT_FOR_FORMER)."""


@dataclass(frozen=True)
class Scenario:
    agents: int
    handle_seconds: float
    load: float
    """Offered load per agent (arrival rate x handle time / agents), below 1."""
    target_seconds: int = 60


SCENARIOS = [
    Scenario(agents=2, handle_seconds=300, load=0.7),
    Scenario(agents=5, handle_seconds=240, load=0.85),
    Scenario(agents=10, handle_seconds=180, load=0.95),
]


@dataclass
class Customer:
    arrival: float
    start: float = 0.0
    end: float = 0.0


def simulate(scenario: Scenario, customers: int, rng: random.Random) -> list[Customer]:
    """Arrival, pickup and finish of every customer (FCFS: each takes the earliest free agent)."""
    rate = scenario.load * scenario.agents / scenario.handle_seconds
    free = [0.0] * scenario.agents
    t, out = 0.0, []
    for _ in range(customers):
        t += rng.expovariate(rate)
        agent_free = heapq.heappop(free)
        start = max(t, agent_free) + rng.uniform(3, 15)
        end = start + rng.expovariate(1 / scenario.handle_seconds)
        heapq.heappush(free, end)
        out.append(Customer(t, start, end))
    return out


def measure(scenario: Scenario, people: list[Customer]) -> tuple[float, float, float]:
    """(mean actual wait, MAE of the estimator, MAE of the former one), warm-up excluded."""
    by_end = sorted(people, key=lambda c: c.end)
    by_start = sorted(people, key=lambda c: c.start)
    handled: deque[float] = deque(maxlen=RECENT)
    answered: deque[float] = deque(maxlen=RECENT)
    ends = starts = 0
    waits, errors, old_errors = [], [], []
    busy: list[float] = []  # end times of conversations started before now
    waiting_starts: list[float] = []  # start times of customers who arrived and wait
    for n, person in enumerate(people):
        now = person.arrival
        while ends < len(by_end) and by_end[ends].end <= now:
            c = by_end[ends]
            handled.appendleft(c.end - c.start)
            ends += 1
        while starts < len(by_start) and by_start[starts].start <= now:
            c = by_start[starts]
            answered.appendleft(c.start - c.arrival)
            heapq.heappush(busy, c.end)
            starts += 1
        while busy and busy[0] <= now:
            heapq.heappop(busy)
        waiting_starts = [s for s in waiting_starts if s > now]
        position = len(waiting_starts) + 1
        free = max(scenario.agents - len(busy) - len(waiting_starts), 0)
        history = WaitHistory(
            handle_seconds=list(handled),
            pickup_seconds=[w for w in answered if w < PROMPT_PICKUP_SECONDS],
            agents=scenario.agents,
            free_slots=free,
            target_seconds=scenario.target_seconds,
        )
        waiting_starts.append(person.start)
        if n < 500:
            continue  # warm-up: the history fills
        actual = person.start - person.arrival
        estimate = estimate_seconds(history, position) or 0
        recent = list(answered)[:OLD_RECENT]
        average = sum(recent) / len(recent) if recent else scenario.target_seconds
        old = math.ceil(average * position / scenario.agents)
        waits.append(actual)
        errors.append(abs(estimate - actual))
        old_errors.append(abs(old - actual))
    mean = sum(waits) / len(waits)
    return mean, sum(errors) / len(errors), sum(old_errors) / len(old_errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print("agents  handle(s)  load  mean wait(s)  MAE estimator(s)  MAE former(s)")
    for scenario in SCENARIOS:
        rng = random.Random(args.seed)
        mean, mae, old = measure(scenario, simulate(scenario, args.customers, rng))
        print(
            f"{scenario.agents:>6}  {scenario.handle_seconds:>9.0f}  {scenario.load:>4.2f}"
            f"  {mean:>12.1f}  {mae:>16.1f}  {old:>13.1f}"
        )


if __name__ == "__main__":
    main()
