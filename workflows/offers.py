"""Automatic assignment in the conversation workflow: its queue order and its offers' timers.

Mixed into ConversationWorkflow. SQL decides who gets which offer (store/routing.py); this
mixin holds what must be durable about an offer of *this* conversation: its lapse timer. It
learns its offer by the Signal `offered` (or directly, when its own activity made the offer),
times it from `workflow.now()` (the offer's length as SQL made it, `expires_at - made_at`;
older notices: `offer_seconds` of its snapshot), keeps only the newest offer of its entry and,
when the timer fires, runs
`routing_lapse` (the offer goes to the next agent, the agent may become away) and tells every
conversation offered by that step with the Signal `offered`. An accepted offer needs nothing
here: the agent's accept is the normal pickup Update, which ends the wait. A slot freed inside
this workflow (the customer left or went silent, the entry went to voicemail, was abandoned or
requeued) dispatches its service at once (`_dispatch_freed`).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.routing import DispatchRequest, RoutingActivities
    from bots.models import HumanBlock
    from bots.templates import render
    from omni.routing import clamp_priority
    from workflows.contracts import Handoff, OfferNotice

from workflows import patches

ROUTING_TIMEOUT = timedelta(seconds=10)
ROUTING_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
NEWEST_OFFER = "offer-newest"
"""Patch id: a notice not newer than the held offer (a late Signal, a re-run dispatch) is
ignored instead of restarting the timer."""
FREED_DISPATCH = "dispatch-freed-slot"
"""Patch id: a slot freed inside the workflow dispatches the auto service at once."""

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object


def queue_order(block: HumanBlock, context: dict[str, Any]) -> dict[str, Any]:
    """The block's `priority` (a number or a template rendering one; anything else is 0,
    clamped to ±100) and required `skills`, as the enqueue request's fields."""
    raw = block.priority
    if isinstance(raw, str):
        text = render(raw, context).strip()
        try:
            number = float(text) if text else 0.0
        except ValueError:
            number = 0.0
        raw = int(number) if math.isfinite(number) else 0
    return {"priority": clamp_priority(raw or 0), "skills": list(block.skills)}


class AutoAssignment(_Core):
    """Offers of this conversation's queue entry; ConversationWorkflow provides the core."""

    @workflow.signal
    def offered(self, notice: OfferNotice) -> None:
        """SQL offered this conversation's entry to an agent: hold the offer's lapse timer."""
        self._hold_offer(notice)

    def _hold_offer(self, notice: OfferNotice) -> None:
        handoff = self.conv.handoff
        if handoff is None or handoff.entry_id != notice.entry_id or handoff.agent_id is not None:
            return  # the entry moved on (picked up, transferred, closed) before the Signal
        if not _newer(notice, handoff.offer) and patches.patched(NEWEST_OFFER):
            return  # the offer held, again, or an older one told late
        length = timedelta(seconds=handoff.service.offer_seconds)
        if notice.made_at is not None and notice.expires_at is not None:
            length = notice.expires_at - notice.made_at  # the service's settings when made
        deadline = workflow.now() + length
        self.conv.handoff = handoff.model_copy(
            update={"offer": notice.model_copy(update={"deadline": deadline})}
        )
        self._moved_on()

    async def _offer_if_auto(self) -> None:
        """Just queued in an auto service: make the offers that can be made now."""
        handoff = self.conv.handoff
        if handoff is None or handoff.service.assignment != "auto":
            return
        request = DispatchRequest(
            service_ids=[handoff.service.service_id], entry_id=handoff.entry_id
        )  # a re-run after a worker crash answers the entry's offer made by the first run
        await self._tell(await self._routing(RoutingActivities.dispatch, request))

    async def _dispatch_freed(self, handoff: Handoff | None) -> None:
        """A slot was freed here (an agent's conversation, an entry's offer): offer what waits
        in its service now, if the service is auto."""
        if handoff is None or handoff.service.assignment != "auto":
            return
        if not patches.patched(FREED_DISPATCH):
            return
        request = DispatchRequest(service_ids=[handoff.service.service_id])
        await self._tell(await self._routing(RoutingActivities.dispatch, request))

    async def _offer_lapsed(self) -> None:
        """The offer's time passed: lapse it in SQL (if still open) and tell the next ones."""
        handoff = self.conv.handoff
        if handoff is None or handoff.offer is None:
            return
        offer_id = handoff.offer.offer_id
        self.conv.handoff = handoff.model_copy(update={"offer": None})
        await self._tell(await self._routing(RoutingActivities.lapse, offer_id))

    async def _routing(self, activity: Any, arg: Any) -> list[OfferNotice]:
        """A routing SQL step; if it fails for good, the periodic sweep of the API does it
        later (api/usecases/offers.sweep), so the conversation goes on."""
        try:
            result: list[OfferNotice] = await workflow.execute_local_activity_method(
                activity, arg, start_to_close_timeout=ROUTING_TIMEOUT, retry_policy=ROUTING_RETRY
            )
        except ActivityError as exc:
            workflow.logger.warning("routing step failed, the sweep will retry: %s", exc)
            return []
        return result

    async def _tell(self, made: list[OfferNotice]) -> None:
        handoff = self.conv.handoff
        mine = handoff.entry_id if handoff is not None else None
        for notice in made:
            if notice.entry_id == mine:  # by entry, not workflow id (replayers rename runs)
                self._hold_offer(notice)
                continue
            try:
                await workflow.get_external_workflow_handle(notice.workflow_id).signal(
                    "offered", notice
                )
            except ApplicationError as exc:  # that conversation ended: SQL's backstop lapses it
                workflow.logger.warning("offer %s not told: %s", notice.offer_id, exc)


def _newer(notice: OfferNotice, held: OfferNotice | None) -> bool:
    """Whether the notice replaces the held offer: another offer, made later."""
    if held is None or held.entry_id != notice.entry_id:
        return True
    if notice.offer_id == held.offer_id:
        return False
    if notice.made_at is None or held.made_at is None:
        return True
    return notice.made_at > held.made_at
