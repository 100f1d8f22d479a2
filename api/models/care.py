"""The supervisor's care reads: alerts (agents who stopped answering) and CSAT answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AlertPublic(BaseModel):
    id: str
    kind: str
    """`agent_silence`: a customer was left unanswered past the service's `agent_reply_seconds`."""
    conversation_id: str
    service: str
    agent: str | None
    detail: str
    created_at: datetime


class CsatPublic(BaseModel):
    id: str
    conversation_id: str
    service: str
    agent: str | None
    score: int
    comment: str | None
    answered_at: datetime


class CsatSummary(BaseModel):
    """The answers (newest first) and their average per service."""

    answers: list[CsatPublic]
    average_by_service: dict[str, float]
