"""The supervisor screen's reads (admin only): every agent's load; every service live, in a
period, and its staffing advice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import EngineDep, SettingsDep, require_admin
from api.models.supervisor import AgentLoad, PeriodReport, ServiceLive, StaffingReport
from api.usecases import supervision
from store import agents as agent_store
from store import queue

router = APIRouter(tags=["supervisor"], dependencies=[Depends(require_admin)])


@router.get("/supervisor/agents", response_model=list[AgentLoad])
def agents_load(engine: EngineDep) -> list[AgentLoad]:
    """Every agent with its status, services, capacity and conversations in service now."""
    return [
        AgentLoad(
            id=agent.id,
            name=agent.name,
            status=agent.status,
            services=agent.services,
            capacity=agent.capacity,
            in_service=len(queue.in_service_for_agent(engine, agent.id)),
        )
        for agent in agent_store.list_agents(engine)
    ]


@router.get("/supervisor/live", response_model=list[ServiceLive])
def services_live(engine: EngineDep) -> list[ServiceLive]:
    """Every service now: waiting, oldest wait, agents by status, offers pending."""
    return supervision.live(engine, datetime.now(UTC))


@router.get("/supervisor/period", response_model=PeriodReport)
def services_period(
    engine: EngineDep,
    settings: SettingsDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    tz: str | None = None,
) -> PeriodReport:
    """Service level, speed of answer, abandonment and handle time of the contacts enqueued from
    `from` to `to` (dates or ISO date-times; default today in `tz` or the operator's zone)."""
    zone = supervision.zone_of(tz or settings.supervisor_timezone)
    return supervision.period(engine, start, end, zone, datetime.now(UTC))


@router.get("/supervisor/staffing", response_model=StaffingReport)
def services_staffing(
    engine: EngineDep, settings: SettingsDep, tz: str | None = None
) -> StaffingReport:
    """Agents each service's target needs now and in each half hour of the next 24 hours
    (Erlang A, or Erlang C when nobody abandons; docs/staffing.md)."""
    zone = supervision.zone_of(tz or settings.supervisor_timezone)
    return supervision.staffing(engine, zone, datetime.now(UTC))
