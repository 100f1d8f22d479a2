"""SQL of the care rules (issue 12): supervisor alerts, CSAT answers, putting a conversation
whose agent went silent back in its queue. Each function is one transaction; retries by the
same id change nothing."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from store import notify
from store.common import now
from store.db import reads
from store.offers import skip_agent
from store.tables import csat_answers, queue_entries, supervisor_alerts


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    kind: str
    conversation_id: str
    service_id: str | None
    service_name: str
    agent_id: str | None
    agent_name: str | None
    detail: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    id: str
    conversation_id: str
    service_id: str | None
    service_name: str
    agent_id: str | None
    agent_name: str | None
    score: int
    comment: str | None
    answered_at: datetime


def add_alert(engine: Engine, alert: Alert) -> None:
    """Store a supervisor alert (once per id)."""
    with engine.begin() as conn:
        found = conn.execute(
            sa.select(supervisor_alerts.c.id).where(supervisor_alerts.c.id == alert.id)
        ).first()
        if found is None:
            conn.execute(supervisor_alerts.insert().values(**_fields(alert)))


def list_alerts(
    engine: Engine, limit: int = 100, service_ids: Collection[str] | None = None
) -> list[Alert]:
    """The newest alerts first (of these services when given: a supervisor's)."""
    query = sa.select(supervisor_alerts).order_by(
        supervisor_alerts.c.created_at.desc(), supervisor_alerts.c.id
    )
    if service_ids is not None:
        query = query.where(supervisor_alerts.c.service_id.in_(list(service_ids)))
    with reads(engine) as conn:
        rows = conn.execute(query.limit(limit)).all()
    return [Alert(**row._asdict()) for row in rows]


def save_csat(engine: Engine, answer: CsatAnswer) -> None:
    """Store (or, for the same id, replace) a survey answer."""
    with engine.begin() as conn:
        conn.execute(csat_answers.delete().where(csat_answers.c.id == answer.id))
        conn.execute(csat_answers.insert().values(**_fields(answer)))


def csat_averages(engine: Engine, start: datetime, end: datetime) -> dict[str, float]:
    """Average score per service id of the answers given in [start, end)."""
    query = (
        sa.select(csat_answers.c.service_id, sa.func.avg(csat_answers.c.score))
        .where(csat_answers.c.answered_at >= start, csat_answers.c.answered_at < end)
        .where(csat_answers.c.service_id.is_not(None))
        .group_by(csat_answers.c.service_id)
    )
    with reads(engine) as conn:
        return {row[0]: round(float(row[1]), 2) for row in conn.execute(query)}


def list_csat(
    engine: Engine,
    service_id: str | None = None,
    limit: int = 100,
    service_ids: Collection[str] | None = None,
) -> list[CsatAnswer]:
    """The newest answers first, of one service, of these services (a supervisor's), or all."""
    query = sa.select(csat_answers).order_by(csat_answers.c.answered_at.desc(), csat_answers.c.id)
    if service_id is not None:
        query = query.where(csat_answers.c.service_id == service_id)
    if service_ids is not None:
        query = query.where(csat_answers.c.service_id.in_(list(service_ids)))
    with reads(engine) as conn:
        rows = conn.execute(query.limit(limit)).all()
    return [CsatAnswer(**row._asdict()) for row in rows]


def csat_of(engine: Engine, conversation_ids: list[str]) -> dict[str, CsatAnswer]:
    """The latest survey answer of each of these conversations (absent: none)."""
    if not conversation_ids:
        return {}
    query = (
        sa.select(csat_answers)
        .where(csat_answers.c.conversation_id.in_(conversation_ids))
        .order_by(csat_answers.c.answered_at, csat_answers.c.id)
    )
    with reads(engine) as conn:
        return {row.conversation_id: CsatAnswer(**row._asdict()) for row in conn.execute(query)}


def requeue(engine: Engine, entry_id: str, new_id: str) -> bool:
    """The in-service entry closes as transferred (freeing its agent) and the conversation
    waits again in the same service as `new_id`, keeping its first `enqueued_at`, priority,
    skills and place (`rank_at`), so it goes to the front of the line; automatic assignment
    offers it to another agent first. False when the entry was no longer in service."""
    with engine.begin() as conn:
        if conn.execute(sa.select(queue_entries.c.id).where(queue_entries.c.id == new_id)).first():
            return True
        entry = conn.execute(sa.select(queue_entries).where(queue_entries.c.id == entry_id)).one()
        moved = conn.execute(
            queue_entries.update()
            .where(queue_entries.c.id == entry_id, queue_entries.c.status == "in_service")
            .values(status="transferred", ended_at=now())
        )
        if moved.rowcount != 1:
            return False
        conn.execute(
            queue_entries.insert().values(
                id=new_id,
                conversation_id=entry.conversation_id,
                workflow_id=entry.workflow_id,
                service_id=entry.service_id,
                status="waiting",
                enqueued_at=entry.enqueued_at,
                preview=entry.preview,
                priority=entry.priority,
                skills=entry.skills,
                rank_at=entry.rank_at,
            )
        )
        if entry.agent_id is not None:  # the next offer goes to another agent first
            skip_agent(conn, new_id, entry.agent_id)
        notify.queue_changed(conn)
    return True


def _fields(value: Alert | CsatAnswer) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__slots__}
