"""The supervisor's SQL steps: the audit log, and moving a conversation to another agent or
service (workflows/supervision.py runs them as local activities)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.omni_queue import snapshot_of
from store import supervision
from workflows.contracts import ServiceSnapshot


class ActionRecord(BaseModel):
    id: str
    conversation_id: str
    action: str
    supervisor: str
    agent: str | None = None
    target: str | None = None
    at: datetime


class AgentMove(BaseModel):
    entry_id: str
    agent_id: str


class ServiceMove(BaseModel):
    entry_id: str
    new_entry_id: str
    service: str


class SupervisionActivities:
    """Holds the DB engine the supervisor's activities work with."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="supervisor_record_action")
    def record_action(self, record: ActionRecord) -> None:
        """Audit one action (idempotent by its id)."""
        supervision.record_action(
            self._engine,
            supervision.SupervisorAction(
                id=record.id,
                conversation_id=record.conversation_id,
                action=record.action,
                supervisor=record.supervisor,
                agent=record.agent,
                target=record.target,
                created_at=record.at,
            ),
        )

    @activity.defn(name="supervisor_reassign_agent")
    def reassign_agent(self, move: AgentMove) -> str | None:
        """The in-service entry to another agent: that agent's name (None: no such agent)."""
        return supervision.reassign_agent(self._engine, move.entry_id, move.agent_id)

    @activity.defn(name="supervisor_reassign_service")
    def reassign_service(self, move: ServiceMove) -> ServiceSnapshot | None:
        """The entry to the back of another service's queue (None: no such service)."""
        target = supervision.reassign_service(
            self._engine, move.entry_id, move.service, move.new_entry_id
        )
        return None if target is None else snapshot_of(target)

    def all(self) -> list[Any]:
        return [self.record_action, self.reassign_agent, self.reassign_service]
