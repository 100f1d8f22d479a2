"""A service's capacity per agent (`agent_capacity`, store/capacity.py) beside the agent's own
capacity: offers, claims (pickup, accept), `next`'s skip, on SQLite and PostgreSQL; the service
API's validation; `next` and pickup refused end to end (time-skipping server, real SQL, HTTP);
a race of claims and dispatches on PostgreSQL never passing the service's limit."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from omni.models import AgentCreate, ServiceCreate, ServiceUpdate
from store import capacity, queue, routing
from store.agents import create_agent, set_agent_status
from store.services import create_service, get_service, update_service
from store.tables import offers, queue_entries
from store.wait_history import wait_history
from tests.conftest import admin_headers, running_stack
from tests.test_auto_assignment import go, open_desk, queue_up
from tests.test_routing_store import enqueue, pairs
from transbordo.stack import stack_ring


def desk(engine, vendas_limit=1, assignment="auto", capacity=3):  # type: ignore[no-untyped-def]
    """Ana (capacity 3, available) works Vendas (agent_capacity 1) and Suporte (no limit)."""
    ring = stack_ring()
    vendas = create_service(
        engine,
        ServiceCreate(name="Vendas", assignment=assignment, agent_capacity=vendas_limit),
        ring,
    )
    suporte = create_service(engine, ServiceCreate(name="Suporte", assignment=assignment), ring)
    ana = create_agent(
        engine, AgentCreate(name="Ana", services=["Vendas", "Suporte"], capacity=capacity)
    ).id
    set_agent_status(engine, ana, "available")
    return vendas.id, suporte.id, ana


def test_offers_keep_to_the_service_limit_and_the_agent_capacity(any_engine):
    vendas, suporte, ana = desk(any_engine)
    for n in (1, 2):
        enqueue(any_engine, vendas, n)
    enqueue(any_engine, suporte, 3)
    made = routing.dispatch(any_engine, [vendas, suporte])
    assert pairs(made) == [("q1", ana), ("q3", ana)]  # one of Vendas, one of Suporte
    assert queue.claim(any_engine, "q1", ana).code == "ok"  # accept: its own offer holds no slot
    assert routing.dispatch(any_engine, [vendas, suporte]) == []  # q2: Vendas holds 1 of 1
    refused = queue.claim(any_engine, "q2", ana)
    assert refused.code == "service_at_capacity" and "Vendas" in refused.reason
    enqueue(any_engine, suporte, 4)
    assert pairs(routing.dispatch(any_engine, [suporte])) == [("q4", ana)]  # 3 of 3 now
    enqueue(any_engine, suporte, 5)
    assert routing.dispatch(any_engine, [suporte]) == []  # the agent's own capacity
    queue.finish(any_engine, "q1")
    assert pairs(routing.dispatch(any_engine, [vendas])) == [("q2", ana)]  # the slot freed


def test_an_open_offer_holds_the_service_slot_against_a_pickup(any_engine):
    vendas, _, ana = desk(any_engine)
    enqueue(any_engine, vendas, 1)
    enqueue(any_engine, vendas, 2)
    assert pairs(routing.dispatch(any_engine, [vendas])) == [("q1", ana)]
    assert queue.claim(any_engine, "q2", ana).code == "service_at_capacity"
    assert capacity.full_services(any_engine, ana) == {vendas}


def test_next_takes_the_conversation_offered_to_the_agent_first(any_engine):
    """Ana holds Vendas's one slot with an open offer: `next` takes that conversation (the
    offer's slot is its own), not a 409 for the full service."""
    vendas, _, ana = desk(any_engine)
    enqueue(any_engine, vendas, 1)
    enqueue(any_engine, vendas, 2)
    assert pairs(routing.dispatch(any_engine, [vendas])) == [("q1", ana)]
    full = capacity.full_services(any_engine, ana)
    candidates = queue.waiting_for_agent(any_engine, ana, skip_services=full)
    assert [entry.id for entry in candidates] == ["q1"]
    assert queue.claim(any_engine, "q1", ana).code == "ok"


def test_the_agent_capacity_is_checked_first(any_engine):
    vendas, suporte, ana = desk(any_engine, assignment="manual", capacity=1)
    enqueue(any_engine, suporte, 1)
    enqueue(any_engine, vendas, 2)
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.claim(any_engine, "q2", ana).code == "at_capacity"


def test_next_skips_the_full_services_and_no_limit_changes_nothing(any_engine):
    vendas, suporte, ana = desk(any_engine, assignment="manual")
    enqueue(any_engine, vendas, 1)
    enqueue(any_engine, vendas, 2)
    enqueue(any_engine, suporte, 3)
    assert capacity.full_services(any_engine, ana) == set()
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    full = capacity.full_services(any_engine, ana)
    assert full == {vendas}
    waiting = queue.waiting_for_agent(any_engine, ana, skip_services=full)
    assert [entry.id for entry in waiting] == ["q3"]
    assert [entry.id for entry in queue.waiting_for_agent(any_engine, ana)] == ["q2", "q3"]
    assert capacity.waiting_in(any_engine, full)
    update_service(any_engine, vendas, ServiceUpdate(agent_capacity=None), stack_ring())
    assert get_service(any_engine, vendas).agent_capacity is None
    assert capacity.full_services(any_engine, ana) == set()
    assert queue.claim(any_engine, "q2", ana).code == "ok"  # 2 of 3, no service limit now


def test_the_wait_estimate_counts_the_slots_the_service_leaves(any_engine):
    vendas, suporte, ana = desk(any_engine, assignment="manual")
    assert wait_history(any_engine, vendas).free_slots == 1  # capacity 3, Vendas allows 1
    enqueue(any_engine, vendas, 1)
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert wait_history(any_engine, vendas).free_slots == 0
    assert wait_history(any_engine, suporte).free_slots == 2


def test_many_claims_and_dispatches_at_once_never_pass_the_service_limit(postgres_engine):
    engine = postgres_engine
    vendas, _, ana = desk(engine, vendas_limit=2, capacity=10)
    for n in range(1, 13):
        enqueue(engine, vendas, n)
    start = threading.Barrier(12)

    def claim(n: int) -> None:
        start.wait()
        if n % 3 == 0:
            routing.dispatch(engine, [vendas])
        else:
            queue.claim(engine, f"q{n}", ana)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(1, 13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        taken = conn.scalar(
            sa.select(sa.func.count()).where(queue_entries.c.status == "in_service")
        )
        offered = Counter(
            conn.scalars(sa.select(offers.c.agent_id).where(offers.c.status == "open"))
        )
    assert taken is not None and taken + offered[ana] == 2  # the limit, exactly filled


@pytest.mark.asyncio
async def test_the_service_api_validates_agent_capacity(any_admin_api):
    http, admin = any_admin_api, admin_headers()
    for bad in (0, 101, "2", 1.5):
        body = {"name": "Vendas", "agent_capacity": bad}
        answer = await http.post("/api/omni/services", json=body, headers=admin)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"][:2] == ["body", "agent_capacity"]
    made = await http.post("/api/omni/services", json={"name": "Vendas"}, headers=admin)
    assert made.status_code == 201 and made.json()["agent_capacity"] is None
    url = f"/api/omni/services/{made.json()['id']}"
    changed = await http.patch(url, json={"agent_capacity": 2}, headers=admin)
    assert changed.status_code == 200 and changed.json()["agent_capacity"] == 2
    kept = await http.patch(url, json={"hidden": True}, headers=admin)
    assert kept.json()["agent_capacity"] == 2  # a PATCH without it keeps it
    cleared = await http.patch(url, json={"agent_capacity": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["agent_capacity"] is None


@pytest.mark.asyncio
async def test_next_and_pickup_are_refused_by_the_service_limit(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": []}, agent_capacity=1, available=False)
        admin = admin_headers()
        agents = (await http.get("/api/omni/agents", headers=admin)).json()
        ana = next(agent for agent in agents if agent["name"] == "Ana")
        raised = await http.patch(
            f"/api/omni/agents/{ana['id']}", json={"capacity": 3}, headers=admin
        )
        assert raised.status_code == 200, raised.text
        await go(desk, "Ana", "available")
        first = await queue_up(http, "c1")
        second = await queue_up(http, "c2")
        taken = await http.post("/api/agent/next", headers=desk.auth("Ana"))
        assert taken.status_code == 200 and taken.json()["conversation_id"] == first, taken.text
        refused = await http.post("/api/agent/next", headers=desk.auth("Ana"))
        assert refused.status_code == 409 and refused.json()["code"] == "service_at_capacity"
        url = f"/api/agent/conversations/{second}/pickup"
        refused = await http.post(url, headers=desk.auth("Ana"))
        assert refused.status_code == 409 and refused.json()["code"] == "service_at_capacity"


@pytest.mark.parametrize("returning", [True, False], ids=["sqlite-returning", "sqlite-before-3.35"])
def test_claims_answer_the_same_without_update_returning(engine, monkeypatch, returning):
    """SQLite before 3.35 has no `UPDATE ... RETURNING`: the claim locks and reads the agent in
    two statements there (store/capacity.locked_agent), with the same answers."""
    monkeypatch.setattr(engine.dialect, "update_returning", returning)
    vendas, suporte, ana = desk(engine, capacity=2)
    for n in (1, 2):
        enqueue(engine, vendas, n)
    enqueue(engine, suporte, 3)
    enqueue(engine, suporte, 4)
    assert queue.claim(engine, "q1", ana).code == "ok"
    assert queue.claim(engine, "q1", ana).code == "ok"  # asked again: the same answer
    assert queue.claim(engine, "q2", ana).code == "service_at_capacity"  # Vendas: 1 of 1
    assert queue.claim(engine, "q3", ana).code == "ok"
    assert queue.claim(engine, "q4", ana).code == "at_capacity"  # Ana: 2 of 2
    assert queue.claim(engine, "nope", ana).code == "taken"
