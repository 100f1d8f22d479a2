"""The queue order and who gets an offer (omni/routing.py): plain table tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omni import routing
from omni.routing import FreeAgent, Waiting

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("priority", "waited", "effective"),
    [(0, 0, 0.0), (0, 60, 1.0), (5, 0, 5.0), (5, 120, 7.0), (-2, 30, -1.5), (3, -10, 3.0)],
)
def test_effective_priority_rises_one_point_a_minute(priority, waited, effective):
    assert routing.effective_priority(priority, waited) == effective


@pytest.mark.parametrize(
    ("a", "b", "first"),
    [
        # (enqueued second, priority) of two entries → which one is served first
        ((0, 0), (10, 0), "a"),  # same priority: arrival order
        ((0, 0), (10, 5), "b"),  # VIP 10 s later goes ahead
        ((0, 0), (299, 5), "b"),  # ... up to 5 min later
        ((0, 0), (301, 5), "a"),  # ... but not 5 min + 1 s later: aging, nobody starves
        ((0, 2), (60, 3), "a"),  # 1 point ahead = 60 s: a tie broken by arrival
    ],
)
def test_rank_at_orders_like_effective_priority_at_any_instant(a, b, first):
    ranks = {"a": routing.rank_at(at(a[0]), a[1]), "b": routing.rank_at(at(b[0]), b[1])}
    by_rank = min(ranks, key=lambda key: (ranks[key], key))
    assert by_rank == first
    for now in (400, 1000, 10_000):  # the effective-priority order agrees, whenever asked
        eff = {
            key: routing.effective_priority(p, now - s) for key, (s, p) in {"a": a, "b": b}.items()
        }
        assert max(eff, key=lambda key: (eff[key], -ranks[key].timestamp())) == first


@pytest.mark.parametrize(
    ("agent", "required", "ok"),
    [((), (), True), (("ingles",), ("Ingles",), True), (("vendas",), ("vendas", "ingles"), False)],
)
def test_skills(agent, required, ok):
    assert routing.has_skills(agent, required) is ok


def test_match_serves_the_line_in_order_to_the_agent_idle_longest():
    waiting = [Waiting("late", at(50)), Waiting("early", at(0)), Waiting("mid", at(20))]
    agents = [
        FreeAgent("busy-recently", 1, idle_since=at(40)),
        FreeAgent("idle-long", 1, idle_since=at(-600)),
        FreeAgent("never", 1),
    ]
    assert routing.match(waiting, agents) == [
        ("early", "never"),
        ("mid", "idle-long"),
        ("late", "busy-recently"),
    ]


def test_match_respects_slots_skills_and_earlier_offers():
    waiting = [
        Waiting("en", at(0), skills=("ingles",)),
        Waiting("pt", at(1), tried={"ana": 1}),
        Waiting("pt2", at(2)),
    ]
    agents = [FreeAgent("ana", 2, skills=("ingles",)), FreeAgent("beto", 1)]
    # "en" only ana can take; "pt" was declined by ana: beto; "pt2": ana's second slot
    assert routing.match(waiting, agents) == [("en", "ana"), ("pt", "beto"), ("pt2", "ana")]
    assert routing.match(waiting, [FreeAgent("beto", 1)]) == [("pt", "beto")]
    assert routing.match([Waiting("x", at(0))], []) == []


def test_who_declined_the_latest_offer_is_left_out():
    entry = Waiting("q", at(0), tried={"ana": 1}, declined_by="ana")
    assert routing.match([entry], [FreeAgent("ana", 1)]) == []
    assert routing.match([entry], [FreeAgent("ana", 1), FreeAgent("beto", 1)]) == [("q", "beto")]


@pytest.mark.parametrize(
    ("priority", "variables", "expected"),
    [
        (None, {}, 0),
        (3, {}, 3),
        ("{{ 5 if plano == 'vip' else 0 }}", {"plano": "vip"}, 5),
        ("{{ 5 if plano == 'vip' else 0 }}", {}, 0),
        ("{{ nota * 2 }}", {"nota": "2.5"}, 0),  # a string times 2 is no number
        ("{{ nota }}", {"nota": 2.9}, 2),
        ("alta", {}, 0),
        ("{{ 1000 }}", {}, 100),
        ("{{ nota }}", {"nota": "inf"}, 0),  # no number a queue can order by
        ("{{ nota }}", {"nota": "-inf"}, 0),
        ("{{ nota }}", {"nota": "1e999"}, 0),
        ("{{ nota }}", {"nota": "nan"}, 0),
        ("{{ nota }}", {"nota": "1e300"}, 100),
    ],
)
def test_the_blocks_priority_template(priority, variables, expected):
    from bots.models import HumanBlock
    from workflows.offers import queue_order

    block = HumanBlock(type="human", priority=priority, skills=["ingles"])
    assert queue_order(block, variables) == {"priority": expected, "skills": ["ingles"]}
