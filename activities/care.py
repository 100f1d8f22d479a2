"""Activities of the care rules (issue 12): alerts, CSAT answers, requeueing (store/care.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from store import care


class AlertRequest(BaseModel):
    alert_id: str
    kind: str
    conversation_id: str
    service_id: str
    service_name: str
    agent_id: str | None
    agent_name: str | None
    detail: str
    at: datetime


class RequeueRequest(BaseModel):
    entry_id: str
    new_entry_id: str


class CsatRequest(BaseModel):
    answer_id: str
    conversation_id: str
    service_id: str
    service_name: str
    agent_id: str | None
    agent_name: str | None
    score: int
    comment: str | None
    at: datetime


class CareActivities:
    """Holds the DB engine of the care activities."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="care_alert")
    def alert(self, request: AlertRequest) -> None:
        care.add_alert(
            self._engine,
            care.Alert(
                id=request.alert_id,
                kind=request.kind,
                conversation_id=request.conversation_id,
                service_id=request.service_id,
                service_name=request.service_name,
                agent_id=request.agent_id,
                agent_name=request.agent_name,
                detail=request.detail,
                created_at=request.at,
            ),
        )

    @activity.defn(name="care_requeue")
    def requeue(self, request: RequeueRequest) -> bool:
        return care.requeue(self._engine, request.entry_id, request.new_entry_id)

    @activity.defn(name="care_save_csat")
    def save_csat(self, request: CsatRequest) -> None:
        care.save_csat(
            self._engine,
            care.CsatAnswer(
                id=request.answer_id,
                conversation_id=request.conversation_id,
                service_id=request.service_id,
                service_name=request.service_name,
                agent_id=request.agent_id,
                agent_name=request.agent_name,
                score=request.score,
                comment=request.comment,
                answered_at=request.at,
            ),
        )

    def all(self) -> list[Any]:
        return [self.alert, self.requeue, self.save_csat]
