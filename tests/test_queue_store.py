"""The waiting list in SQL, on SQLite and PostgreSQL: one winner, retries change nothing, and
what is read back is typed (entries, metrics)."""

from __future__ import annotations

import pytest

from omni.errors import NotFound
from omni.models import AgentCreate, ServiceCreate, ServiceMetrics
from store import queue
from store.agents import create_agent, set_agent_status
from store.services import create_service
from transbordo.stack import stack_ring


def staffed(engine):  # type: ignore[no-untyped-def]
    service = create_service(engine, ServiceCreate(name="Suporte"), stack_ring())
    agents = []
    for name in ("Ana", "Beto"):
        agent = create_agent(engine, AgentCreate(name=name, services=["Suporte"]))
        set_agent_status(engine, agent.id, "available")
        agents.append(agent.id)
    return service.id, agents


def enqueue(engine, service: str, n: int, preview: str = "") -> None:  # type: ignore[no-untyped-def]
    queue.enqueue(
        engine,
        entry_id=f"q{n}",
        conversation_id=f"c{n}",
        workflow_id=f"w{n}",
        service_id=service,
        preview=preview,
    )


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


def test_reads_are_typed_entries_of_the_service(any_engine):
    service, (ana, _) = staffed(any_engine)
    vendas = create_service(any_engine, ServiceCreate(name="Vendas"), stack_ring()).id
    enqueue(any_engine, service, 1, preview="quero ajuda")
    waiting = queue.open_entry(any_engine, "c1")
    assert isinstance(waiting, queue.QueueEntry)
    assert (waiting.service_name, waiting.status, waiting.agent_id) == ("Suporte", "waiting", None)
    assert waiting.enqueued_at.tzinfo is not None and waiting.picked_up_at is None
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    [mine] = queue.in_service_for_agent(any_engine, ana)
    assert (mine.id, mine.agent_id, mine.preview) == ("q1", ana, "quero ajuda")
    assert mine.picked_up_at is not None and mine == queue.get_entry(any_engine, "q1")

    assert queue.transfer(any_engine, "q1", vendas, "q2") == "q2"
    moved = queue.open_entry(any_engine, "c1")
    assert moved is not None
    assert (moved.id, moved.service_name, moved.status) == ("q2", "Vendas", "waiting")
    assert queue.get_entry(any_engine, "q1").status == "transferred"
    assert queue.in_service_for_agent(any_engine, ana) == []
    with pytest.raises(NotFound):
        queue.get_entry(any_engine, "q-none")


def test_metrics_are_a_model_with_every_figure(any_engine):
    service, (ana, beto) = staffed(any_engine)
    empty = queue.metrics(any_engine, service)
    assert isinstance(empty, ServiceMetrics)
    assert empty.model_dump() == {
        "service": "Suporte",
        "waiting": 0,
        "in_service": 0,
        "answered": 0,
        "answered_within_target": 0,
        "service_level_percent": None,
        "target_service_level_percent": 80,
        "answer_time_seconds": 60,
        "abandoned": 0,
        "average_wait_seconds": None,
        "estimated_wait_seconds": 0,  # a customer queueing now finds a free agent
    }
    for n in (1, 2, 3):
        enqueue(any_engine, service, n)
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.close_waiting(any_engine, "q2", "abandoned")
    # the activity retried after its commit (the answer lost): the same close, not a pickup
    assert queue.close_waiting(any_engine, "q2", "abandoned")
    assert not queue.close_waiting(any_engine, "q2", "voicemail")  # another close's, not this
    assert not queue.close_waiting(any_engine, "q1", "abandoned")  # picked up
    figures = queue.metrics(any_engine, service)
    counts = (figures.waiting, figures.in_service, figures.answered, figures.abandoned)
    assert counts == (1, 1, 1, 1)
    assert figures.answered_within_target == 1 and figures.service_level_percent == 50.0
    for agent in (ana, beto):
        set_agent_status(any_engine, agent, "offline")
    assert queue.metrics(any_engine, service).estimated_wait_seconds is None  # nobody online
    with pytest.raises(NotFound):
        queue.metrics(any_engine, "svc_none")
