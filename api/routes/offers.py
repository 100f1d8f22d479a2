"""The agent's offers (automatic assignment): list, accept (the normal pickup), decline."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, status

from api.agent_screen import agent_offers, pickups_of
from api.deps import AgentDep, ClientDep, EngineDep, require_agent
from api.errors import ApiError, ErrorCode
from api.models.agent import PickupPublic
from api.models.offers import AgentOffer
from api.stream_hub import HubDep
from api.usecases import agent_actions
from api.usecases import offers as offer_actions
from store import routing

router = APIRouter(prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)])


@router.get("/offers", response_model=list[AgentOffer])
def my_offers(agent: AgentDep, engine: EngineDep) -> list[AgentOffer]:
    """The agent's open offers (the screen rings for these), oldest first, each with the menu
    option its customer chose by number (`choice`), as the queue's items."""
    return agent_offers(engine, agent.id)


def _open_offer(engine: EngineDep, agent_id: str, offer_id: str) -> routing.Offer:
    offer = routing.get_offer(engine, offer_id)
    if offer is None or offer.agent_id != agent_id:
        raise ApiError(status.HTTP_404_NOT_FOUND, "no such offer", ErrorCode.NOT_FOUND)
    if offer.status != "open":
        raise ApiError(status.HTTP_409_CONFLICT, f"the offer is {offer.status}", ErrorCode.CONFLICT)
    return offer


@router.post("/offers/{offer_id}/accept", response_model=PickupPublic)
async def accept(
    offer_id: str,
    request: Request,
    agent: AgentDep,
    engine: EngineDep,
    client: ClientDep,
    hub: HubDep,
) -> PickupPublic:
    """Aceitar: take the offered conversation through the normal pickup (the workflow and SQL
    decide). Only an open offer of this agent: 404 when it is not theirs, 409 when it is no
    longer open (a lapsed offer's conversation may still be taken from the queue)."""
    offer = _open_offer(engine, agent.id, offer_id)
    taken = await agent_actions.pickup(
        client, engine, agent, offer.workflow_id, service_id=offer.service_id, newly_taken=True
    )
    pickups_of(request.app).taken(agent.id, taken.conversation_id)  # as `next` (routes/agent.py)
    hub.queue_changed()
    return taken


@router.post("/offers/{offer_id}/decline")
async def decline(
    offer_id: str, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> dict[str, str]:
    """Recusar: the conversation is offered to the next agent at once."""
    _open_offer(engine, agent.id, offer_id)
    made = await asyncio.to_thread(routing.decline, engine, offer_id, agent.id)
    if made is None:
        raise ApiError(status.HTTP_409_CONFLICT, "the offer is no longer open", ErrorCode.CONFLICT)
    await offer_actions.tell(client, made)
    return {"offer_id": offer_id, "status": "declined"}
