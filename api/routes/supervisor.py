"""The supervisor screen's one read of its own: every agent's load (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import EngineDep, require_admin
from api.models.supervisor import AgentLoad
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
