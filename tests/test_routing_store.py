"""Automatic assignment in SQL (store/routing.py) and the queue order (store/queue.py), on
SQLite and PostgreSQL; a race of many agents becoming free at once, on PostgreSQL with threads."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from omni.models import AgentCreate, AgentUpdate, ServiceCreate
from store import queue, routing
from store.agents import create_agent, get_agent, set_agent_status, update_agent
from store.services import create_service
from store.tables import offers, queue_entries
from transbordo.stack import stack_ring


def auto_service(engine, names=("Ana", "Beto"), capacity=1, **settings):  # type: ignore[no-untyped-def]
    body = ServiceCreate(name="Suporte", assignment="auto", **settings)
    service = create_service(engine, body, stack_ring())
    ids = []
    for name in names:
        body = AgentCreate(name=name, services=["Suporte"], capacity=capacity)
        agent = create_agent(engine, body)
        ids.append(agent.id)
    return service.id, ids


def enqueue(engine, service, n, priority=0, skills=()):  # type: ignore[no-untyped-def]
    queue.enqueue(
        engine,
        entry_id=f"q{n}",
        conversation_id=f"c{n}",
        workflow_id=f"w{n}",
        service_id=service,
        preview=f"oi {n}",
        priority=priority,
        skills=tuple(skills),
    )


def pairs(made):  # type: ignore[no-untyped-def]
    return sorted((offer.entry_id, offer.agent_id) for offer in made)


def test_manual_services_get_no_offers(any_engine):
    service = create_service(any_engine, ServiceCreate(name="Manual"), stack_ring())
    agent = create_agent(any_engine, AgentCreate(name="Ana", services=["Manual"]))
    set_agent_status(any_engine, agent.id, "available")
    enqueue(any_engine, service.id, 1)
    assert routing.dispatch(any_engine, [service.id], agent_id=agent.id) == []


def test_offers_follow_the_line_and_capacity_and_accepting_is_the_claim(any_engine):
    service, (ana, beto) = auto_service(any_engine)
    for n in (1, 2, 3):
        enqueue(any_engine, service, n)
    assert routing.dispatch(any_engine, [service]) == []  # nobody available yet
    set_agent_status(any_engine, ana, "available")
    made = routing.dispatch(any_engine, agent_id=ana)
    assert pairs(made) == [("q1", ana)]
    assert made[0].workflow_id == "w1" and made[0].service_name == "Suporte"
    assert routing.dispatch(any_engine, [service]) == []  # ana's one slot holds the offer
    assert queue.claim(any_engine, "q2", ana).code == "at_capacity"  # the offer counts
    set_agent_status(any_engine, beto, "available")
    assert pairs(routing.dispatch(any_engine, agent_id=beto)) == [("q2", beto)]
    assert queue.claim(any_engine, "q1", beto).code == "taken"  # offered to ana
    assert [e.id for e in queue.waiting_for_agent(any_engine, beto)] == ["q2", "q3"]
    assert queue.claim(any_engine, "q1", ana).code == "ok"  # accept = the normal claim
    assert [o.id for o in routing.open_offers(any_engine, ana)] == []
    queue.finish(any_engine, "q1")
    assert pairs(routing.dispatch(any_engine, agent_id=ana)) == [("q3", ana)]


def test_decline_goes_to_the_next_agent(any_engine):
    service, (ana, beto) = auto_service(any_engine)
    for agent in (ana, beto):
        set_agent_status(any_engine, agent, "available")
    enqueue(any_engine, service, 1)
    (first,) = routing.dispatch(any_engine, [service])
    other = beto if first.agent_id == ana else ana
    assert routing.decline(any_engine, first.id, other) is None  # not theirs
    (second,) = routing.decline(any_engine, first.id, first.agent_id) or []
    assert second.agent_id == other and second.entry_id == "q1"
    assert routing.decline(any_engine, first.id, first.agent_id) is None  # once
    # the other declines too: back to the first one, who declined longer ago
    (third,) = routing.decline(any_engine, second.id, other) or []
    assert third.agent_id == first.agent_id
    # alone, an agent who declines is not rung again for it, but may take it from the queue
    set_agent_status(any_engine, other, "paused")
    assert routing.decline(any_engine, third.id, first.agent_id) == []
    assert routing.dispatch(any_engine, [service]) == []
    assert [e.id for e in queue.waiting_for_agent(any_engine, first.agent_id)] == ["q1"]


def test_lapses_move_the_offer_on_and_make_the_agent_away(any_engine):
    service, (ana,) = auto_service(any_engine, names=("Ana",), max_lapses=2)
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    (first,) = routing.dispatch(any_engine, [service])
    (second,) = routing.lapse(any_engine, first.id)
    assert second.agent_id == ana and get_agent(any_engine, ana).status == "available"
    assert routing.lapse(any_engine, first.id) == []  # a lapse counts once
    assert routing.lapse(any_engine, second.id) == []  # the second in a row: away
    assert get_agent(any_engine, ana).status == "away"
    set_agent_status(any_engine, ana, "available")
    assert pairs(routing.dispatch(any_engine, agent_id=ana)) == [("q1", ana)]


def test_an_accepted_offer_resets_the_lapse_count(any_engine):
    service, (ana,) = auto_service(any_engine, names=("Ana",), max_lapses=2, capacity=2)
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    enqueue(any_engine, service, 2)
    first, second = sorted(routing.dispatch(any_engine, [service]), key=lambda o: o.entry_id)
    routing.lapse(any_engine, first.id)  # one lapse; q1 is offered to ana again
    assert queue.claim(any_engine, "q2", ana).code == "ok"
    (again,) = routing.open_offers(any_engine, ana)
    routing.lapse(any_engine, again.id)  # one lapse since the accept: still available
    assert get_agent(any_engine, ana).status == "available"


def test_skills_and_priority_decide_who_and_which_first(any_engine):
    service, (ana, beto) = auto_service(any_engine)
    update_agent(any_engine, beto, AgentUpdate(skills=["ingles"]))
    enqueue(any_engine, service, 1)
    enqueue(any_engine, service, 2, skills=["Ingles"])
    enqueue(any_engine, service, 3, priority=5)
    assert [queue.position(any_engine, f"q{n}") for n in (1, 2, 3)] == [2, 3, 1]
    assert [e.id for e in queue.waiting_for_agent(any_engine, ana)] == ["q3", "q1"]
    assert queue.claim(any_engine, "q2", ana).code == "not_your_service"
    set_agent_status(any_engine, ana, "available")
    assert pairs(routing.dispatch(any_engine, agent_id=ana)) == [("q3", ana)]
    set_agent_status(any_engine, beto, "available")
    assert pairs(routing.dispatch(any_engine, agent_id=beto)) == [("q1", beto)]


def test_an_entry_that_stops_waiting_withdraws_its_offer(any_engine):
    service, (ana,) = auto_service(any_engine, names=("Ana",))
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    enqueue(any_engine, service, 2)
    (offer,) = routing.dispatch(any_engine, [service])
    assert queue.close_waiting(any_engine, offer.entry_id, "abandoned")
    assert routing.open_offers(any_engine, ana) == []
    assert pairs(routing.dispatch(any_engine, [service])) == [("q2", ana)]


def test_many_agents_free_at_once_never_exceed_capacity_nor_double_offer(postgres_engine):
    engine = postgres_engine
    names = [f"A{n:02}" for n in range(12)]
    service, agents = auto_service(engine, names=names, capacity=2)
    for n in range(40):
        enqueue(engine, service, n)
    start = threading.Barrier(len(agents))
    errors: list[BaseException] = []

    def free(agent: str) -> None:
        try:
            set_agent_status(engine, agent, "available")
            start.wait()
            for offer in routing.dispatch(engine, agent_id=agent):
                queue.claim(engine, offer.entry_id, offer.agent_id)
            routing.dispatch(engine, [service])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=free, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        busy = conn.execute(
            sa.select(queue_entries.c.agent_id, sa.func.count())
            .where(queue_entries.c.status == "in_service")
            .group_by(queue_entries.c.agent_id)
        ).all()
        held = conn.execute(
            sa.select(offers.c.agent_id, sa.func.count())
            .where(offers.c.status == "open")
            .group_by(offers.c.agent_id)
        ).all()
        double = conn.execute(
            sa.select(offers.c.entry_id)
            .where(offers.c.status.in_(["open", "accepted"]))
            .group_by(offers.c.entry_id)
            .having(sa.func.count() > 1)
        ).all()
    load: dict[str, int] = {}
    for agent, count in [*busy, *held]:
        load[agent] = load.get(agent, 0) + count
    assert double == []
    assert max(load.values()) <= 2
    assert sum(load.values()) == 24  # every slot filled: 12 agents x 2


@pytest.mark.parametrize("status", ["paused", "offline", "away"])
def test_only_available_agents_get_offers(any_engine, status):
    service, (ana,) = auto_service(any_engine, names=("Ana",))
    set_agent_status(any_engine, ana, status)
    enqueue(any_engine, service, 1)
    assert routing.dispatch(any_engine, [service], agent_id=ana) == []


def test_an_offer_left_open_by_a_racing_close_is_withdrawn_by_the_next_dispatch(any_engine):
    service, (ana,) = auto_service(any_engine, names=("Ana",))
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    enqueue(any_engine, service, 2)
    (offer,) = routing.dispatch(any_engine, [service])
    with any_engine.begin() as conn:  # a close that committed after the offer was made
        conn.execute(
            queue_entries.update()
            .where(queue_entries.c.id == offer.entry_id)
            .values(status="abandoned")
        )
    assert pairs(routing.dispatch(any_engine, [service])) == [("q2", ana)]
    assert routing.get_offer(any_engine, offer.id).status == "withdrawn"


@pytest.mark.parametrize("action", ["lapse", "decline"])
def test_decline_and_lapse_racing_dispatches_take_locks_in_one_order(postgres_engine, action):
    engine = postgres_engine
    names = [f"A{n:02}" for n in range(6)]
    service, agents = auto_service(engine, names=names, max_lapses=100)
    for n in range(60):
        enqueue(engine, service, n)
    for agent in agents:
        set_agent_status(engine, agent, "available")
    errors: list[BaseException] = []
    for _ in range(4):
        made = routing.dispatch(engine, [service])
        assert len(made) == len(agents)
        start = threading.Barrier(2 * len(made))

        def end(offer: routing.Offer, start: threading.Barrier = start) -> None:
            try:
                start.wait()
                if action == "lapse":
                    routing.lapse(engine, offer.id)
                else:
                    assert routing.decline(engine, offer.id, offer.agent_id) is not None
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        def again(agent: str, start: threading.Barrier = start) -> None:
            try:
                start.wait()
                routing.dispatch(engine, agent_id=agent)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=end, args=(offer,)) for offer in made]
        threads += [threading.Thread(target=again, args=(offer.agent_id,)) for offer in made]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with engine.begin() as conn:  # the next round starts from no open offer
            still = offers.c.status == "open"
            conn.execute(offers.update().where(still).values(status="withdrawn"))


def test_lapse_of_an_offer_already_ended_still_dispatches(any_engine):
    service, (ana,) = auto_service(any_engine, names=("Ana",))
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    enqueue(any_engine, service, 2)
    (offer,) = routing.dispatch(any_engine, [service])
    assert queue.close_waiting(any_engine, offer.entry_id, "abandoned")  # withdraws the offer
    assert pairs(routing.lapse(any_engine, offer.id)) == [("q2", ana)]


def test_sweep_lapses_overdue_offers_of_auto_services_and_offers_again(any_engine):
    service, (ana, beto) = auto_service(any_engine)
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    (offer,) = routing.dispatch(any_engine, [service])
    assert routing.sweep(any_engine) == []  # not overdue yet
    with any_engine.begin() as conn:  # its timer's Signal was lost: long past its time
        past = offer.expires_at - routing.LAPSE_GRACE * 10
        conn.execute(offers.update().where(offers.c.id == offer.id).values(expires_at=past))
    set_agent_status(any_engine, beto, "available")
    assert pairs(routing.sweep(any_engine)) == [("q1", beto)]
    assert routing.get_offer(any_engine, offer.id).status == "lapsed"
    assert routing.entry_offer(any_engine, "q1").agent_id == beto


@pytest.mark.parametrize("status", ["paused", "offline", "away"])
def test_an_agent_no_longer_available_gives_its_offers_to_the_next(any_engine, status):
    service, (ana, beto) = auto_service(any_engine)
    set_agent_status(any_engine, ana, "available")
    enqueue(any_engine, service, 1)
    (offer,) = routing.dispatch(any_engine, [service])
    set_agent_status(any_engine, beto, "available")
    set_agent_status(any_engine, ana, status)
    assert pairs(routing.withdraw_agent(any_engine, ana)) == [("q1", beto)]
    assert routing.get_offer(any_engine, offer.id).status == "withdrawn"
    assert routing.withdraw_agent(any_engine, ana) == []


def test_a_page_of_entries_nobody_free_can_take_blocks_no_one_behind(any_engine, monkeypatch):
    monkeypatch.setattr(routing, "DISPATCH_BATCH", 3)  # pages of 3 instead of 200
    service, (ana, beto) = auto_service(any_engine)
    for agent in (ana, beto):
        set_agent_status(any_engine, agent, "available")
    for n in range(7):  # the front of the line needs a skill nobody has
        enqueue(any_engine, service, n, skills=["frances"])
    enqueue(any_engine, service, 7)
    enqueue(any_engine, service, 8)
    enqueue(any_engine, service, 9)
    made = routing.dispatch(any_engine, [service])
    assert sorted(offer.entry_id for offer in made) == ["q7", "q8"]  # two agents, one slot each
