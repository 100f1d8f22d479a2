"""Where an agent may transfer a conversation: the services the transfer rules allow.

The Tela de Atendimento offers exactly these; the transfer itself (`POST .../transfer`) applies
the same rules again, in the workflow's activity, so a list that went stale is still safe.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel

from api import agent_actions as actions
from api.deps import AgentDep, EngineDep, require_agent
from omni.errors import NotFound
from omni.policy import transfer_refusal
from store import services as service_store

router = APIRouter(prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)])


class TransferTarget(BaseModel):
    name: str
    extension: str | None


@router.get(
    "/conversations/{conversation_id}/transfer-targets", response_model=list[TransferTarget]
)
def transfer_targets(
    conversation_id: str, agent: AgentDep, engine: EngineDep
) -> list[TransferTarget]:
    """The services this conversation may go to (not its own, not hidden, within its service's
    transfer group when one is set), by name; 403 if it is not in one of your services, 404 if
    there is no such conversation, 409 if it is not with human service."""
    entry = actions.conversation_for(engine, agent, conversation_id)
    try:
        source = service_store.get_service(engine, entry.service_id)
    except NotFound:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "the conversation's service no longer exists"
        ) from None
    return [
        TransferTarget(name=target.name, extension=target.extension)
        for target in service_store.list_services(engine)
        if transfer_refusal(source, target) is None
    ]
