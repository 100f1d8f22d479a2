"""The care rules' SQL on SQLite and PostgreSQL: alerts, CSAT answers, requeue, the history
behind the estimated wait."""

from __future__ import annotations

from datetime import timedelta

from omni.models import AgentCreate, ServiceCreate
from store import care, queue
from store.agents import create_agent, set_agent_status
from store.common import now
from store.services import create_service
from store.wait_history import wait_history
from transbordo.stack import stack_ring


def staffed(engine):  # type: ignore[no-untyped-def]
    service = create_service(engine, ServiceCreate(name="Suporte"), stack_ring())
    ana = create_agent(engine, AgentCreate(name="Ana", services=["Suporte"], capacity=2))
    set_agent_status(engine, ana.id, "available")
    return service.id, ana.id


def enqueue(engine, service: str, n: int) -> None:  # type: ignore[no-untyped-def]
    queue.enqueue(
        engine,
        entry_id=f"q{n}",
        conversation_id=f"c{n}",
        workflow_id=f"w{n}",
        service_id=service,
        preview="",
    )


def test_requeue_puts_the_conversation_back_first_once(any_engine):
    service, ana = staffed(any_engine)
    enqueue(any_engine, service, 1)
    enqueue(any_engine, service, 2)
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.position(any_engine, "q2") == 1
    assert care.requeue(any_engine, "q1", "q1b")
    assert care.requeue(any_engine, "q1", "q1b")  # a retry finds the new entry
    assert queue.get_entry(any_engine, "q1").status == "transferred"
    assert queue.position(any_engine, "q1b") == 1  # it keeps its first place in line
    assert queue.position(any_engine, "q2") == 2
    assert not care.requeue(any_engine, "q2", "q2b")  # not in service: nothing to do


def test_alerts_and_csat_are_stored_once_and_read_newest_first(any_engine):
    service, ana = staffed(any_engine)
    t = now()
    for n in (1, 2):
        alert = care.Alert(
            id=f"al{n}",
            kind="agent_silence",
            conversation_id=f"c{n}",
            service_id=service,
            service_name="Suporte",
            agent_id=ana,
            agent_name="Ana",
            detail="cliente sem resposta há 120 s",
            created_at=t + timedelta(seconds=n),
        )
        care.add_alert(any_engine, alert)
        care.add_alert(any_engine, alert)  # retried
    assert [a.id for a in care.list_alerts(any_engine)] == ["al2", "al1"]
    answer = care.CsatAnswer(
        id="cs1",
        conversation_id="c1",
        service_id=service,
        service_name="Suporte",
        agent_id=ana,
        agent_name="Ana",
        score=4,
        comment="bom",
        answered_at=t,
    )
    care.save_csat(any_engine, answer)
    care.save_csat(any_engine, answer)  # retried
    assert care.list_csat(any_engine) == [answer]
    assert care.list_csat(any_engine, service_id="other") == []
    later = care.CsatAnswer(
        id="cs2",
        conversation_id="c2",
        service_id=service,
        service_name="Suporte",
        agent_id=ana,
        agent_name="Ana",
        score=1,
        comment=None,
        answered_at=t + timedelta(seconds=1),
    )
    care.save_csat(any_engine, later)
    # the supervisor's period average counts the answers given inside the period only
    assert care.csat_averages(any_engine, t, t + timedelta(minutes=1)) == {service: 2.5}
    assert care.csat_averages(any_engine, later.answered_at, t + timedelta(minutes=1)) == {
        service: 1.0
    }
    assert care.csat_averages(any_engine, t - timedelta(hours=1), t) == {}


def test_wait_history_reads_handle_times_and_free_slots(any_engine):
    service, ana = staffed(any_engine)
    enqueue(any_engine, service, 1)
    empty = wait_history(any_engine, service)
    assert (empty.handle_seconds, empty.agents, empty.free_slots) == ([], 1, 2)
    assert empty.target_seconds == 60
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert wait_history(any_engine, service).free_slots == 1
    queue.finish(any_engine, "q1")
    done = wait_history(any_engine, service)
    assert len(done.handle_seconds) == 1 and done.handle_seconds[0] >= 0
    assert len(done.pickup_seconds) == 1 and done.free_slots == 2
