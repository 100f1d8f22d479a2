"""The supervisor screen's model: each agent's load."""

from __future__ import annotations

from pydantic import BaseModel

from omni.models import AgentStatus


class AgentLoad(BaseModel):
    id: str
    name: str
    status: AgentStatus
    services: list[str]
    capacity: int
    in_service: int
