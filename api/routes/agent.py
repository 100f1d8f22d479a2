"""The agent's own routes; every one needs the agent's bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AgentDep, EngineDep, require_agent
from omni.models import AgentPublic, AgentStatusChange
from store import omni as store

router = APIRouter(prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)])


@router.get("/me", response_model=AgentPublic)
def me(agent: AgentDep) -> AgentPublic:
    """Who the token belongs to: name, services, capacity and status."""
    return agent


@router.post("/status", response_model=AgentPublic)
def set_status(body: AgentStatusChange, agent: AgentDep, engine: EngineDep) -> AgentPublic:
    """Go ``available``, ``paused`` (stay logged in, take nothing new) or ``offline``."""
    return store.set_agent_status(engine, agent.id, body.status)
