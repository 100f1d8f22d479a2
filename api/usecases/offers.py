"""Automatic assignment from the API: make the offers an agent's action allows, tell each
offered conversation (Signal `offered`, which starts its lapse timer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from store import routing
from workflows.contracts import OfferNotice
from workflows.conversation import ConversationWorkflow

logger = logging.getLogger(__name__)


async def dispatch(
    engine: Engine, client: Client, service_ids: Iterable[str] = (), agent_id: str | None = None
) -> list[routing.Offer]:
    """An agent became available or freed a slot: offer what waits, at once (the offers made)."""
    made = await asyncio.to_thread(
        routing.dispatch, engine, list(service_ids), agent_id=agent_id
    )
    await tell(client, made)
    return made


async def tell(client: Client, made: list[routing.Offer]) -> None:
    """Signal each offered conversation. A lost Signal (this process dies first) leaves the
    offer open on the agent's screen until a dispatch lapses it (store/routing.LAPSE_GRACE)."""
    for offer in made:
        notice = OfferNotice(
            offer_id=offer.id,
            entry_id=offer.entry_id,
            workflow_id=offer.workflow_id,
            agent_id=offer.agent_id,
        )
        try:
            await client.get_workflow_handle(offer.workflow_id).signal(
                ConversationWorkflow.offered, notice
            )
        except RPCError as exc:
            logger.warning("offer %s not told to %s: %s", offer.id, offer.workflow_id, exc)
