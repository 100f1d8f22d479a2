"""The waiting list in SQL, on SQLite and PostgreSQL: one winner, and retries change nothing."""

from __future__ import annotations

from omni.models import AgentCreate, ServiceCreate
from store import queue
from store.agents import create_agent, set_agent_status
from store.services import create_service


def staffed(engine):  # type: ignore[no-untyped-def]
    service = create_service(engine, ServiceCreate(name="Suporte"))
    agents = []
    for name in ("Ana", "Beto"):
        agent = create_agent(engine, AgentCreate(name=name, services=["Suporte"]))
        set_agent_status(engine, agent.id, "available")
        agents.append(agent.id)
    return service.id, agents


def test_enqueue_and_claim_are_safe_to_retry(any_engine):
    service, (ana, beto) = staffed(any_engine)
    args = {"conversation_id": "c1", "workflow_id": "w1", "service_id": service, "preview": "oi"}
    assert queue.enqueue(any_engine, entry_id="q1", **args) == "q1"
    assert queue.enqueue(any_engine, entry_id="q1", **args) == "q1"
    assert [e.id for e in queue.waiting_for_agent(any_engine, ana)] == ["q1"]
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.claim(any_engine, "q1", ana).code == "ok"  # the same claim, retried
    assert queue.claim(any_engine, "q1", beto).code == "taken"
    assert not queue.close_waiting(any_engine, "q1", "abandoned")  # the pickup came first


def test_capacity_and_status_are_checked(any_engine):
    service, (ana, _) = staffed(any_engine)
    for n in (1, 2):
        queue.enqueue(
            any_engine,
            entry_id=f"q{n}",
            conversation_id=f"c{n}",
            workflow_id=f"w{n}",
            service_id=service,
            preview="",
        )
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.claim(any_engine, "q2", ana).code == "at_capacity"
    queue.finish(any_engine, "q1")
    set_agent_status(any_engine, ana, "paused")
    assert queue.claim(any_engine, "q2", ana).code == "not_available"
    assert queue.staffing(any_engine, service).logged_in == 2
    assert queue.position(any_engine, "q2") == 1
