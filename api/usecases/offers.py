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
    made = await asyncio.to_thread(routing.dispatch, engine, list(service_ids), agent_id=agent_id)
    await tell(client, made)
    return made


async def withdraw(engine: Engine, client: Client, agent_id: str) -> None:
    """The agent paused, went away or offline: its offers go to the next agents."""
    await tell(client, await asyncio.to_thread(routing.withdraw_agent, engine, agent_id))


async def tell(client: Client, made: list[routing.Offer]) -> None:
    """Signal each offered conversation. A lost Signal (this process dies first, the Signal
    fails) leaves the offer open on the agent's screen until the sweep lapses it (`sweep`,
    store/routing.LAPSE_GRACE)."""
    for offer in made:
        notice = OfferNotice.of(offer)
        try:
            await client.get_workflow_handle(offer.workflow_id).signal(
                ConversationWorkflow.offered, notice
            )
        except RPCError as exc:
            logger.warning("offer %s not told to %s: %s", offer.id, offer.workflow_id, exc)


async def sweep(engine: Engine, client: Client, every_seconds: float) -> None:
    """Run for the API's life: every few seconds lapse overdue offers whose timer was lost and
    offer what waits in auto services (one cheap query when no service is auto)."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await sweep_once(engine, client)
        except Exception:  # noqa: BLE001 - the next round tries again
            logger.exception("offer sweep failed")


async def sweep_once(engine: Engine, client: Client) -> None:
    """Every auto service: lapse lost offers, offer what can be offered, tell them."""
    await tell(client, await asyncio.to_thread(routing.sweep, engine))
