"""An agent's offer as the API and the agent stream send it."""

from __future__ import annotations

from omni.routing_models import OfferPublic
from store.routing import Offer

__all__ = ["AgentOffer", "OfferPublic", "public_offer"]


class AgentOffer(OfferPublic):
    """An open offer as the agent's screen shows it: with the label of the menu option its
    customer chose by number (`choice`, api/agent_screen.py `MenuChoices`), as the queue's items
    have it, so the ringing card says "Menu: Falar com um especialista", not "1"."""

    choice: str | None = None


def public_offer(offer: Offer, *, choice: str | None = None) -> AgentOffer:
    return AgentOffer(
        id=offer.id,
        entry_id=offer.entry_id,
        conversation_id=offer.conversation_id,
        service=offer.service_name,
        agent_id=offer.agent_id,
        preview=offer.preview,
        expires_at=offer.expires_at,
        choice=choice,
    )
