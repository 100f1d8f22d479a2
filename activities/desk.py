"""The agent's desk's SQL step: a finished handoff's wrap-up code and tags into the log."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from temporalio import activity

from store import labels


class LabelsRequest(BaseModel):
    conversation_id: str
    wrapup_code: str | None = None
    tags: list[str] = Field(default_factory=list)
    service: str | None = None
    agent: str | None = None


class DeskActivities:
    """Holds the DB engine the desk's activities work with."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="desk_record_labels")
    def record_labels(self, request: LabelsRequest) -> None:
        """Record the labels (idempotent: a retry finds them there)."""
        labels.record_labels(
            self._engine,
            request.conversation_id,
            wrapup_code=request.wrapup_code,
            tags=request.tags,
            service=request.service,
            agent=request.agent,
        )
