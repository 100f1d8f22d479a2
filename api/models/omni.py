"""The Omni administration API's models: those of `omni/models.py` (the store uses them too,
so they live there and are re-exported here) and the Caixa Postal's voicemail."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from omni.models import (
    AgentCreate,
    AgentCreated,
    AgentPublic,
    AgentUpdate,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPublic,
    ServiceCreate,
    ServiceCreated,
    ServiceMetrics,
    ServicePublic,
    ServiceUpdate,
)

__all__ = [
    "AgentCreate",
    "AgentCreated",
    "AgentPublic",
    "AgentUpdate",
    "IntegrationCreate",
    "IntegrationCreated",
    "IntegrationPublic",
    "ServiceCreate",
    "ServiceCreated",
    "ServiceMetrics",
    "ServicePublic",
    "ServiceUpdate",
    "VoicemailPublic",
]


class VoicemailPublic(BaseModel):
    id: str
    service: str
    conversation_id: str
    bot: str
    contact_id: str
    text: str
    created_at: datetime
