"""The supervisor's care reads: alerts and satisfaction answers (issue 12), of every service for
the admin token, of its own services for a supervisor's (api/supervisor_scope.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import EngineDep
from api.models.care import AlertPublic, CsatPublic, CsatSummary
from api.supervisor_scope import SupervisorDep, require_supervisor
from store import care

router = APIRouter(tags=["supervisor"], dependencies=[Depends(require_supervisor)])

Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/supervisor/alerts", response_model=list[AlertPublic])
def alerts(engine: EngineDep, caller: SupervisorDep, limit: Limit = 100) -> list[AlertPublic]:
    """The newest alerts first: customers left unanswered past their service's limit."""
    return [
        AlertPublic(
            id=alert.id,
            kind=alert.kind,
            conversation_id=alert.conversation_id,
            service=alert.service_name,
            agent=alert.agent_name,
            detail=alert.detail,
            created_at=alert.created_at,
        )
        for alert in care.list_alerts(engine, limit, caller.service_ids)
    ]


@router.get("/supervisor/csat", response_model=CsatSummary)
def csat(engine: EngineDep, caller: SupervisorDep, limit: Limit = 100) -> CsatSummary:
    """The newest satisfaction answers first, and the average score per service among them."""
    answers = care.list_csat(engine, limit=limit, service_ids=caller.service_ids)
    scores: dict[str, list[int]] = defaultdict(list)
    for answer in answers:
        scores[answer.service_name].append(answer.score)
    return CsatSummary(
        answers=[
            CsatPublic(
                id=answer.id,
                conversation_id=answer.conversation_id,
                service=answer.service_name,
                agent=answer.agent_name,
                score=answer.score,
                comment=answer.comment,
                answered_at=answer.answered_at,
            )
            for answer in answers
        ],
        average_by_service={name: round(sum(s) / len(s), 2) for name, s in scores.items()},
    )
