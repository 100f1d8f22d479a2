"""The supervisor's SQL on SQLite and PostgreSQL: the audit log (once per action id, newest
first, by conversation), the transcript mails (once per conversation), and reassigning an entry
in service to another agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omni.models import AgentCreate, ServiceCreate
from store import queue, supervision, transcript_mails
from store.agents import create_agent
from store.services import create_service
from store.tables import queue_entries
from transbordo.stack import stack_ring

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def action(n: int, conversation: str, kind: str = "whisper") -> supervision.SupervisorAction:
    return supervision.SupervisorAction(
        id=f"sa_{n}",
        conversation_id=conversation,
        action=kind,
        supervisor="Carla",
        agent="Ana",
        target=None,
        created_at=T0 + timedelta(minutes=n),
    )


def test_audit_log(any_engine):  # type: ignore[no-untyped-def]
    supervision.record_action(any_engine, action(1, "c1"))
    supervision.record_action(any_engine, action(1, "c1"))  # a retry: still one
    supervision.record_action(any_engine, action(2, "c2", "barge_in"))
    supervision.record_action(any_engine, action(3, "c1", "take_over"))
    assert [a.id for a in supervision.list_actions(any_engine)] == ["sa_3", "sa_2", "sa_1"]
    mine = supervision.list_actions(any_engine, "c1")
    assert [(a.action, a.created_at) for a in mine] == [
        ("take_over", T0 + timedelta(minutes=3)),
        ("whisper", T0 + timedelta(minutes=1)),
    ]
    assert len(supervision.list_actions(any_engine, limit=1)) == 1


def test_transcript_mail_once(any_engine):  # type: ignore[no-untyped-def]
    assert not transcript_mails.was_sent(any_engine, "c1")
    transcript_mails.mark_sent(any_engine, "c1")
    transcript_mails.mark_sent(any_engine, "c1")
    assert transcript_mails.was_sent(any_engine, "c1")
    assert not transcript_mails.was_sent(any_engine, "c2")


def test_reassign_an_entry_in_service(any_engine):  # type: ignore[no-untyped-def]
    ring = stack_ring()
    service = create_service(any_engine, ServiceCreate(name="Suporte"), ring=ring)
    ana = create_agent(any_engine, AgentCreate(name="Ana", services=["Suporte"]))
    beto = create_agent(any_engine, AgentCreate(name="Beto"))  # in no service
    queue.enqueue(
        any_engine,
        entry_id="q1",
        conversation_id="c1",
        workflow_id="w1",
        service_id=service.id,
        preview="",
    )
    assert supervision.reassign_agent(any_engine, "q1", beto.id) is None  # only in service
    with any_engine.begin() as conn:
        conn.execute(
            queue_entries.update()
            .where(queue_entries.c.id == "q1")
            .values(status="in_service", agent_id=ana.id)
        )
    assert supervision.reassign_agent(any_engine, "q1", "ag_nobody") is None
    assert supervision.reassign_agent(any_engine, "q1", beto.id) == "Beto"
    entry = queue.open_entry(any_engine, "c1")
    assert entry is not None and entry.agent_id == beto.id and entry.status == "in_service"
    moved = supervision.reassign_service(any_engine, "q1", "Nenhum", "q2")
    assert moved is None
