"""The desk's reads shared by the agent and the supervisor: conversations with their labels and
who served them; the wrap-up settings a finish is checked against."""

from __future__ import annotations

from sqlalchemy import Engine

from api.models.channel import MessagePublic
from api.models.desk import ConversationSummary
from store import care, labels
from store import services as service_store
from store.conversations import ConversationRow
from workflows.desk_contracts import WrapUpNow

OPEN = frozenset({"waiting", "in_service", "voicemail"})
"""Conversation statuses whose row names the service and agent of now."""


def wrapup_now(engine: Engine, service_id: str) -> WrapUpNow:
    """The service's wrap-up settings now: what the agent's screen lists and what the finish
    checks (FinishRequest.wrapup), so both agree even after the admin changed them. A code is
    required only when there is one to choose (omni/desk.py `wrapup_refusal`); a deleted
    service has none."""
    settings = service_store.wrapup_settings(engine, service_id)
    if settings is None:
        return WrapUpNow()
    return WrapUpNow(required=settings.required and bool(settings.codes), codes=settings.codes)


def summaries(
    engine: Engine,
    rows: list[ConversationRow],
    transcripts: dict[str, list[MessagePublic]] | None = None,
) -> list[ConversationSummary]:
    """The conversations with their tags, wrap-up codes, satisfaction answer, service and
    agents (and transcripts, when given). An open conversation's row names its service and
    agent of now; a closed one's row no longer does, its queue entries still do."""
    ids = [row.id for row in rows]
    found = labels.labels_of(engine, ids)
    csat = care.csat_of(engine, ids)
    served = labels.served_by(engine, ids)
    out = []
    for row in rows:
        labelled = found.get(row.id, labels.Labels())
        answer = csat.get(row.id)
        by = served.get(row.id)
        service, agent = row.service, row.agent
        if row.status not in OPEN and by is not None:
            service, agent = by.service, by.agent
        out.append(
            ConversationSummary(
                conversation_id=row.id,
                bot=row.bot,
                status=row.status,
                queue_status=by.queue_status if by else None,
                service=service,
                agent=agent,
                agents=by.agents if by else [],
                tags=labelled.tags,
                wrapup_codes=labelled.wrapup_codes,
                created_at=row.created_at,
                updated_at=row.updated_at,
                messages=transcripts.get(row.id) if transcripts is not None else None,
                csat_score=answer.score if answer else None,
                csat_comment=answer.comment if answer else None,
            )
        )
    return out
