"""Activities of automatic assignment: make offers (dispatch) and lapse one, in SQL.

Each answers the offers it made, so the workflow that ran it tells each offered conversation
(Signal `offered`); store/routing.py decides everything in one transaction.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from store import routing
from workflows.contracts import OfferNotice


class DispatchRequest(BaseModel):
    service_ids: list[str] = []
    agent_id: str | None = None
    entry_id: str | None = None
    """The asking conversation's entry: its open offer is answered too, even when an earlier
    run of this activity made it (a re-run after a worker crash makes nothing new)."""


def notices(made: list[routing.Offer]) -> list[OfferNotice]:
    return [OfferNotice.of(offer) for offer in made]


class RoutingActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="routing_dispatch")
    def dispatch(self, request: DispatchRequest) -> list[OfferNotice]:
        made = routing.dispatch(self._engine, request.service_ids, agent_id=request.agent_id)
        if request.entry_id is not None and all(o.entry_id != request.entry_id for o in made):
            held = routing.entry_offer(self._engine, request.entry_id)
            made += [held] if held is not None else []
        return notices(made)

    @activity.defn(name="routing_lapse")
    def lapse(self, offer_id: str) -> list[OfferNotice]:
        return notices(routing.lapse(self._engine, offer_id))
