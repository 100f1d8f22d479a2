"""The queue that routing is compared with: first come first served, N agents, no routing delay
(bench/contact_center.py). Pure Python."""

from __future__ import annotations

import heapq
import random
import statistics


def ideal(
    arrivals: list[float], handles: list[float | None], agents: int, patience: float | None
) -> list[float]:
    """Waits of FCFS N servers, no routing delay, on the same sample path (a customer still
    waiting at `patience` leaves; its wait is then the patience; a customer who left in the
    measured run has no handle time and is given none)."""
    free = [0.0] * agents
    heapq.heapify(free)
    waits = []
    for arrival, handle in zip(arrivals, handles, strict=True):
        start = max(arrival, free[0])
        if patience is not None and start - arrival > patience:
            waits.append(patience)
            continue
        heapq.heapreplace(free, start + (handle if handle is not None else 0.0))
        waits.append(start - arrival)
    return waits


def sampling_noise(
    agents: int, rate: float, handle: float, customers: int, answer: float, runs: int = 200
) -> tuple[float, float]:
    """Standard deviations of (ASA, SLA) of one day of `customers` through an ideal M/M/N
    queue (no abandonment), over `runs` simulated days: how far one bench run's figures may
    fall from Erlang C by sampling alone."""
    asa, sla = [], []
    for seed in range(runs):
        rng = random.Random(seed)
        clock, arrivals, handles = 0.0, [], []
        for _ in range(customers):
            clock += rng.expovariate(rate)
            arrivals.append(clock)
            handles.append(rng.expovariate(1 / handle))
        waits = ideal(arrivals, list(handles), agents, None)
        asa.append(sum(waits) / customers)
        sla.append(sum(w <= answer for w in waits) / customers)
    return statistics.stdev(asa), statistics.stdev(sla)
