"""The supervisor screen's reads: who is calling; the agents' load; the services live, in a
period, their SLA figures and staffing advice; conversations by tag and wrap-up code, and those
open now. The admin token reads every service, a supervisor's token its own services
(api/supervisor_scope.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import EngineDep, SettingsDep
from api.models.desk import ConversationSummary
from api.models.supervisor import (
    AgentLoad,
    OpenConversation,
    PeriodReport,
    ServiceLive,
    StaffingReport,
    SupervisorMe,
)
from api.supervisor_scope import SupervisorDep, require_supervisor
from api.usecases import supervision
from api.usecases.desk import summaries
from omni.models import ServiceMetrics
from store import agents as agent_store
from store import labels, queue
from store import services as service_store
from store.open_conversations import open_conversations

router = APIRouter(tags=["supervisor"], dependencies=[Depends(require_supervisor)])

Filter = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get("/supervisor/me", response_model=SupervisorMe)
def me(caller: SupervisorDep) -> SupervisorMe:
    """The caller: the admin (every service), or a supervisor's account and its services."""
    if caller.agent is None:
        return SupervisorMe(admin=True)
    agent = caller.agent
    return SupervisorMe(admin=False, agent_id=agent.id, name=agent.name, services=agent.services)


@router.get("/supervisor/agents", response_model=list[AgentLoad])
def agents_load(engine: EngineDep, caller: SupervisorDep) -> list[AgentLoad]:
    """Every agent (of a supervisor's services) with its status, services (for a supervisor,
    only those it supervises: the rest of the house is not its business), capacity and
    conversations in service now (all of them: that is the agent's load)."""
    names = caller.service_names
    return [
        AgentLoad(
            id=agent.id,
            name=agent.name,
            status=agent.status,
            services=[s for s in agent.services if names is None or s in names],
            capacity=agent.capacity,
            in_service=len(queue.in_service_for_agent(engine, agent.id)),
        )
        for agent in agent_store.list_agents(engine)
        if names is None or names.intersection(agent.services)
    ]


@router.get("/supervisor/services", response_model=list[ServiceMetrics])
def services_metrics(engine: EngineDep, caller: SupervisorDep) -> list[ServiceMetrics]:
    """Each service's SLA figures (`GET /api/omni/services/{id}/metrics`), by name."""
    found = sorted(service_store.list_services(engine), key=lambda one: one.name)
    return [queue.metrics(engine, service.id) for service in found if caller.sees(service.id)]


@router.get("/supervisor/live", response_model=list[ServiceLive])
def services_live(engine: EngineDep, caller: SupervisorDep) -> list[ServiceLive]:
    """Every service now: waiting, oldest wait, agents by status, offers pending."""
    return supervision.live(engine, datetime.now(UTC), caller.service_ids)


@router.get("/supervisor/period", response_model=PeriodReport)
def services_period(
    engine: EngineDep,
    settings: SettingsDep,
    caller: SupervisorDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    tz: str | None = None,
) -> PeriodReport:
    """Service level, speed of answer, abandonment and handle time of the contacts enqueued from
    `from` to `to` (dates or ISO date-times; default today in `tz` or the operator's zone)."""
    zone = supervision.zone_of(tz or settings.supervisor_timezone)
    return supervision.period(engine, start, end, zone, datetime.now(UTC), caller.service_ids)


@router.get("/supervisor/staffing", response_model=StaffingReport)
def services_staffing(
    engine: EngineDep, settings: SettingsDep, caller: SupervisorDep, tz: str | None = None
) -> StaffingReport:
    """Agents each service's target needs now and in each half hour of the next 24 hours
    (Erlang A, or Erlang C when nobody abandons; docs/staffing.md)."""
    zone = supervision.zone_of(tz or settings.supervisor_timezone)
    return supervision.staffing(engine, zone, datetime.now(UTC), caller.service_ids)


@router.get("/supervisor/conversations", response_model=list[ConversationSummary])
def search_conversations(
    engine: EngineDep,
    caller: SupervisorDep,
    tag: Filter = None,
    wrapup_code: Filter = None,
    service: Filter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ConversationSummary]:
    """Conversations by tag and/or wrap-up code (of one service, when given), newest first;
    for a supervisor, of the conversations that were in its services."""
    rows = labels.search(
        engine,
        tag=tag,
        wrapup_code=wrapup_code,
        service=service,
        limit=limit,
        service_ids=caller.service_ids,
    )
    return summaries(engine, rows)


@router.get("/supervisor/conversations/open", response_model=list[OpenConversation])
def open_now(
    engine: EngineDep, caller: SupervisorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[OpenConversation]:
    """The conversations waiting or in service now (of a supervisor's services): those whose
    agent's screen is gone first (`agent_offline`: set offline by presence, its customers to
    reassign), then in service, then waiting, each oldest first: the ones a supervisor can
    watch, whisper to, take over or reassign."""
    return [
        OpenConversation(
            conversation_id=row.conversation_id,
            service=row.service,
            status=row.status,
            agent_id=row.agent_id,
            agent=row.agent,
            agent_offline=row.agent_gone,
            enqueued_at=row.enqueued_at,
            picked_up_at=row.picked_up_at,
            contact=row.contact,
        )
        for row in open_conversations(engine, service_ids=caller.service_ids, limit=limit)
    ]
