"""A service's webhook events ("Webhook Externo"), mixed into ConversationWorkflow.

The Humano block `_emit`s an event per queued, picked_up, transferred, finished, abandoned,
voicemail and message; one pump delivers them in order, each retried with backoff for up to
`WEBHOOK_GIVE_UP` from its first attempt, so a slow receiver never holds the conversation up.

A run due to continue as new does not wait for them (patch `webhooks-carried`, asked when it
comes due with events pending, or when one is emitted while it is due): the one in flight is
cancelled (an attempt under way is let finish: delivered, it is not carried) and, with the
queued ones, travels into the next run (`ConversationState.webhooks`), which delivers them in
the same order, each keeping its give-up deadline. Delivery is at least once, as with any
retry: a failed attempt may still have reached the receiver, which sees the event again with
the same id (Standard Webhooks' `webhook-id`; receivers deduplicate by it). The run's end
still waits for every event (delivered or given up).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookEvent, WebhookSender
    from workflows.contracts import Handoff
    from workflows.webhook_contracts import PendingWebhook

from workflows import patches

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object

WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
)
WEBHOOK_GIVE_UP = timedelta(hours=24)
"""A webhook receiver down for longer than this (from the event's first attempt) loses the
event (logged)."""
WEBHOOK_CARRY_BYTES = 256 * 1024
"""The most webhook events (as JSON, in bytes) a run carries into the next: the input of a run
fails at 2 MB, and the flow (up to 512 KiB) and the transcript's tail travel in it too. A run
whose outbox is bigger waits for its deliveries before it continues, as before the patch."""


class WebhookEvents(_Core):
    """The outbox of webhook events and its pump; the workflow provides `ConversationCore`."""

    _webhook_outbox: list[PendingWebhook]
    """Not delivered yet, oldest first; the first one is in flight while `_delivery` is set."""
    _delivery: workflow.ActivityHandle[None] | None
    _carried: bool | None
    """Patch `webhooks-carried`: None until asked, when the run is due to continue as new
    with events pending (`_carry_when_due`)."""
    _carry_asked_when_pending: bool
    """The run is due to continue as new (and lives on until idle): an event emitted now asks."""
    _webhooks_held: bool
    """The run is continuing as new: no delivery starts; the one in flight is cancelled."""

    def _start_webhooks(self) -> None:
        self._webhook_outbox = self.conv.webhooks  # the previous run's, when it carried some
        self.conv.webhooks = []
        self._delivery = None
        self._carried = None
        self._carry_asked_when_pending = False
        self._webhooks_held = False
        self._carry_size: tuple[tuple[int, str] | None, int] = (None, 0)

    def _webhooks_idle(self) -> bool:
        """Nothing queued or in flight; or, when the run carries its events into the next one,
        nothing that holds continuing as new (the run's end still waits for them)."""
        if not self._webhook_outbox:
            return True
        return bool(self._carried) and not self.conv.state.ended and self._carry_fits()

    def _carry_fits(self) -> bool:
        """The outbox fits `WEBHOOK_CARRY_BYTES` of the next run's input; a bigger one holds
        the run until the deliveries drain, as before the patch (none is dropped). Measured
        again only when the outbox changed (a wait condition asks it at every activation)."""
        outbox = self._webhook_outbox
        shape = (len(outbox), outbox[0].event.event_id)
        if self._carry_size[0] != shape:
            size = sum(len(pending.model_dump_json().encode()) for pending in outbox)
            self._carry_size = (shape, size)
            if size > WEBHOOK_CARRY_BYTES:
                workflow.logger.warning(
                    "%d webhook events (%d bytes) too many to carry: the run waits for them",
                    len(outbox),
                    size,
                )
        return self._carry_size[1] <= WEBHOOK_CARRY_BYTES

    def _carry_when_due(self) -> None:
        """Continue-as-new is due (and the run lives on until idle): ask the patch once events
        are pending, now or when one is emitted."""
        self._carry_asked_when_pending = True
        if self._carried is None and self._webhook_outbox:
            self._carried = patches.patched(patches.WEBHOOKS_CARRIED)

    async def _hold_webhooks(self) -> None:
        """The run is about to continue as new: no delivery starts any more, and the one in
        flight is cancelled (its event stays first in the outbox)."""
        self._webhooks_held = True
        if self._delivery is not None:
            self._delivery.cancel()
            await workflow.wait_condition(lambda: self._delivery is None)

    def _release_webhooks(self) -> None:
        """The run did not continue after all: the pump goes on."""
        self._webhooks_held = False

    def _webhooks_to_carry(self) -> list[PendingWebhook]:
        """The outbox for the next run (within `WEBHOOK_CARRY_BYTES`: `_carry_fits`)."""
        return list(self._webhook_outbox)

    def _emit(self, kind: str, handoff: Handoff | None = None, /, **data: Any) -> None:
        """Queue a service event for its external webhook (when the service has one)."""
        handoff = handoff or self.conv.handoff
        if handoff is None or not handoff.service.webhook:
            return
        event = WebhookEvent(
            event_id=f"evt_{workflow.uuid4().hex}",
            type=kind,
            service_id=handoff.service.service_id,
            occurred_at=workflow.now(),
            data={
                "conversation_id": self._input.conversation_id,
                "bot": self._input.bot,
                "contact_id": self._input.contact.id,
                "service": handoff.service.service_name,
                "agent": handoff.agent_name,
                **data,
            },
        )
        self._webhook_outbox.append(PendingWebhook(event=event))
        if self._carry_asked_when_pending:
            self._carry_when_due()

    async def _webhook_pump(self) -> None:
        """Deliver webhook events in order, one at a time, each retried with backoff."""
        while True:
            await workflow.wait_condition(
                lambda: bool(self._webhook_outbox) and not self._webhooks_held
            )
            if self._webhooks_held:  # held since the condition was met: nothing starts
                continue
            if await self._deliver(self._webhook_outbox[0]):
                self._webhook_outbox.pop(0)

    async def _deliver(self, pending: PendingWebhook) -> bool:
        """Delivered or given up (True), or cancelled to travel into the next run (False)."""
        now = workflow.now()
        if pending.give_up_at is None:
            pending.give_up_at = now + WEBHOOK_GIVE_UP
        left = pending.give_up_at - now
        if left <= timedelta(0):  # carried from a run that continued as new at its deadline
            self._not_delivered(pending.event, "given up")
            return True
        self._delivery = workflow.start_activity_method(
            WebhookSender.deliver,
            pending.event,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=left,
            retry_policy=WEBHOOK_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        try:
            await self._delivery
        except (ActivityError, asyncio.CancelledError) as failure:
            if self._webhooks_held:  # cancelled by `_hold_webhooks`: it travels
                return False
            if isinstance(failure, asyncio.CancelledError):
                raise
            self._not_delivered(pending.event, "given up")
        finally:
            self._delivery = None
        return True

    def _not_delivered(self, event: WebhookEvent, why: str) -> None:
        workflow.logger.error(
            "webhook event %s (%s) not delivered: %s", event.event_id, event.type, why
        )
