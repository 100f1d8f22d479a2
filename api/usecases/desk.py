"""The desk's reads shared by the agent and the supervisor: conversations with their labels."""

from __future__ import annotations

from sqlalchemy import Engine

from api.models.channel import MessagePublic
from api.models.desk import ConversationSummary
from store import care, labels
from store.conversations import ConversationRow


def summaries(
    engine: Engine,
    rows: list[ConversationRow],
    transcripts: dict[str, list[MessagePublic]] | None = None,
) -> list[ConversationSummary]:
    """The conversations with their tags, wrap-up codes and satisfaction answer (and
    transcripts, when given)."""
    found = labels.labels_of(engine, [row.id for row in rows])
    csat = care.csat_of(engine, [row.id for row in rows])
    out = []
    for row in rows:
        labelled = found.get(row.id, labels.Labels())
        answer = csat.get(row.id)
        out.append(
            ConversationSummary(
                conversation_id=row.id,
                bot=row.bot,
                status=row.status,
                service=row.service,
                agent=row.agent,
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
