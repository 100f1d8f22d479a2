"""The automatic assignment's Signal crossing the workflow boundary: an offer made in SQL.

Re-exported by workflows/contracts.py (`Handoff` holds one), where everyone imports it from: the
workflow modules pass `workflows.contracts` through the sandbox, and one class must serve both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel


class MadeOffer(Protocol):
    """What an offer made in SQL tells its conversation (store/routing.Offer)."""

    @property
    def id(self) -> str: ...
    @property
    def entry_id(self) -> str: ...
    @property
    def workflow_id(self) -> str: ...
    @property
    def agent_id(self) -> str: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...


class OfferNotice(BaseModel):
    """An open offer of this conversation's queue entry to an agent (Signal `offered`)."""

    offer_id: str
    entry_id: str
    workflow_id: str
    agent_id: str
    made_at: datetime | None = None
    """When SQL made it (newer offers replace older ones; absent in notices before it)."""
    expires_at: datetime | None = None
    """Its end in SQL (what the agent's screen counts down to): `expires_at - made_at` is the
    offer's length, from the service's settings when it was made."""
    deadline: datetime | None = None
    """When the workflow lapses it: set by the workflow, the offer's length after it learns it."""

    @classmethod
    def of(cls, offer: MadeOffer) -> OfferNotice:
        """The Signal `offered` for an offer made in SQL (the API's and the activities')."""
        return cls(
            offer_id=offer.id,
            entry_id=offer.entry_id,
            workflow_id=offer.workflow_id,
            agent_id=offer.agent_id,
            made_at=offer.created_at,
            expires_at=offer.expires_at,
        )
