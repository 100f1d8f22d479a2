"""An agent's offer as the API and the agent stream send it."""

from __future__ import annotations

from omni.routing_models import OfferPublic
from store.routing import Offer

__all__ = ["OfferPublic", "public_offer"]


def public_offer(offer: Offer) -> OfferPublic:
    return OfferPublic(
        id=offer.id,
        entry_id=offer.entry_id,
        conversation_id=offer.conversation_id,
        service=offer.service_name,
        agent_id=offer.agent_id,
        preview=offer.preview,
        expires_at=offer.expires_at,
    )
