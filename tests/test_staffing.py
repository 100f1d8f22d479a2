"""omni/staffing.py against textbook figures and against independent direct computations."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import pytest

from omni.staffing import Workload, agents_needed, erlang_b, erlang_c, outlook


def erlang_c_by_sum(agents: int, erlangs: float) -> float:
    """The textbook formula, summed term by term (fine for small N)."""
    top = erlangs**agents / math.factorial(agents) * agents / (agents - erlangs)
    return top / (sum(erlangs**i / math.factorial(i) for i in range(agents)) + top)


# Call Centre Helper, "Erlang C Formula – Made Simple" (callcentrehelper.com): 100 contacts in
# 30 minutes, 180 s handle time → 10 Erlangs; target 80% answered in 20 s. Its figures:
# 11 agents → a contact waits with probability 0.6821; the target needs 14 agents.
# The other rows are checked against erlang_c_by_sum and 1 − C·e^{−(N−A)·t/AHT} below.
EXAMPLE = Workload(arrivals_per_second=100 / 1800, handle_seconds=180)


@pytest.mark.parametrize(
    ("agents", "waits", "level"),
    [(11, 0.6821, 0.3896), (12, 0.4494, 0.6402), (13, 0.2853, 0.7956), (14, 0.1741, 0.8884)],
)
def test_the_worked_example(agents: int, waits: float, level: float) -> None:
    seen = outlook(agents, EXAMPLE, answer_seconds=20)
    assert seen.probability_wait == pytest.approx(waits, abs=5e-5)
    assert seen.probability_wait == pytest.approx(erlang_c_by_sum(agents, 10), rel=1e-12)
    assert seen.service_level == pytest.approx(level, abs=5e-5)
    expected = 1 - erlang_c_by_sum(agents, 10) * math.exp(-(agents - 10) * 20 / 180)
    assert seen.service_level == pytest.approx(expected, rel=1e-12)
    assert seen.average_speed_of_answer == pytest.approx(
        erlang_c_by_sum(agents, 10) * 180 / (agents - 10), rel=1e-12
    )


def test_agents_needed_for_the_example() -> None:
    assert agents_needed(EXAMPLE, 80, 20) == 14
    assert agents_needed(EXAMPLE, 60, 20) == 12
    assert agents_needed(EXAMPLE, 0, 20) == 11  # the least that keeps the queue finite


@pytest.mark.parametrize(("agents", "erlangs"), [(1, 0.5), (5, 3.2), (20, 17.5), (60, 55.0)])
def test_erlang_c_matches_the_direct_sum(agents: int, erlangs: float) -> None:
    assert erlang_c(agents, erlangs) == pytest.approx(erlang_c_by_sum(agents, erlangs), rel=1e-10)


def test_erlang_b_small_cases() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)


def test_large_loads_stay_finite() -> None:
    """Factorials of 1,000 overflow a float; the recursion does not."""
    value = erlang_c(1050, 1000.0)
    assert 0 < value < 1
    assert agents_needed(Workload(1000 / 180, 180), 80, 20) > 1000


def test_no_arrivals_needs_nobody() -> None:
    assert agents_needed(Workload(0, 180), 80, 20) == 0
    assert agents_needed(Workload(0, 180, 60), 80, 20) == 0


def erlang_a_by_decimal(agents: int, work: Workload, limit: float) -> tuple[float, float, float]:
    """(P(wait), service level, abandon rate) of M/M/N+M by a different road: the stationary
    law summed from its products in 60-digit decimals, and each position's chance of reaching an
    agent in time from the hypoexponential law of its wait (distinct rates N·μ + k·θ)."""
    getcontext().prec = 60
    lam, mu = Decimal(work.arrivals_per_second), 1 / Decimal(work.handle_seconds)
    theta = 1 / Decimal(work.patience_seconds or 0)
    t = Decimal(limit)
    weights = [Decimal(1)]
    for n in range(1, agents + 1):
        weights.append(weights[-1] * lam / (n * mu))
    for j in range(1, 120):
        weights.append(weights[-1] * lam / (agents * mu + j * theta))
    total = sum(weights)
    law = [w / total for w in weights]
    busy = law[agents:]
    answered_in_time = Decimal(0)
    for ahead, mass in enumerate(busy[:40]):
        rates = [agents * mu + k * theta for k in range(ahead + 1)]
        for k, rate in enumerate(rates):
            coefficient = Decimal(1)
            for m, other in enumerate(rates):
                if m != k:
                    coefficient *= other / (other - rate)
            answered_in_time += (
                mass * coefficient * rate * (1 - (-(rate + theta) * t).exp()) / (rate + theta)
            )
    waits = sum(busy)
    queue = sum(j * p for j, p in enumerate(busy))
    return float(waits), float(1 - waits + answered_in_time), float(theta * queue / lam)


@pytest.mark.parametrize(
    ("agents", "work", "limit"),
    [
        (2, Workload(1 / 120, 180, 60), 20),
        (3, Workload(1 / 60, 180, 120), 30),
        (5, Workload(1 / 30, 180, 300), 20),  # overloaded (A = 6 > 5): abandonment keeps it finite
    ],
)
def test_erlang_a_matches_an_independent_computation(
    agents: int, work: Workload, limit: float
) -> None:
    waits, level, abandon = erlang_a_by_decimal(agents, work, limit)
    seen = outlook(agents, work, limit)
    assert seen.probability_wait == pytest.approx(waits, rel=1e-9)
    assert seen.service_level == pytest.approx(level, rel=1e-7)
    assert seen.abandon_rate == pytest.approx(abandon, rel=1e-9)


def test_erlang_a_with_endless_patience_is_erlang_c() -> None:
    patient = Workload(EXAMPLE.arrivals_per_second, 180, patience_seconds=1e9)
    for agents in (11, 14):
        a, c = outlook(agents, patient, 20), outlook(agents, EXAMPLE, 20)
        assert a.service_level == pytest.approx(c.service_level, rel=1e-5)
        assert a.average_speed_of_answer == pytest.approx(c.average_speed_of_answer, rel=1e-4)


def test_abandonment_lowers_the_agents_needed() -> None:
    impatient = Workload(EXAMPLE.arrivals_per_second, 180, patience_seconds=120)
    assert agents_needed(impatient, 80, 20) == 12
    assert (
        outlook(12, impatient, 20).service_level >= 0.80 > outlook(11, impatient, 20).service_level
    )
