"""A service's webhook events ("Webhook Externo"), mixed into ConversationWorkflow.

The Humano block `_emit`s an event per queued, picked_up, transferred, finished, abandoned,
voicemail and message; one pump delivers them in order, each retried with backoff, so a slow
receiver never holds the conversation up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookEvent, WebhookSender
    from workflows.contracts import Handoff

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object

WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
)
WEBHOOK_GIVE_UP = timedelta(hours=24)
"""A webhook receiver down for longer than this loses the event (logged)."""


class WebhookEvents(_Core):
    """The outbox of webhook events and its pump; the workflow provides `ConversationCore`."""

    _webhook_outbox: list[WebhookEvent]
    _delivering: bool
    """An event is being delivered (the run does not end meanwhile)."""

    def _start_webhooks(self) -> None:
        self._webhook_outbox = []
        self._delivering = False

    def _webhooks_idle(self) -> bool:
        return not self._webhook_outbox and not self._delivering

    def _emit(self, kind: str, handoff: Handoff | None = None, /, **data: Any) -> None:
        """Queue a service event for its external webhook (when the service has one)."""
        handoff = handoff or self.conv.handoff
        if handoff is None or not handoff.service.webhook:
            return
        self._webhook_outbox.append(
            WebhookEvent(
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
        )

    async def _webhook_pump(self) -> None:
        """Deliver webhook events in order, one at a time, each retried with backoff."""
        while True:
            await workflow.wait_condition(lambda: bool(self._webhook_outbox))
            event = self._webhook_outbox.pop(0)
            self._delivering = True
            try:
                await workflow.execute_activity_method(
                    WebhookSender.deliver,
                    event,
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=WEBHOOK_GIVE_UP,
                    retry_policy=WEBHOOK_RETRY,
                )
            except ActivityError:
                workflow.logger.error(
                    "webhook event %s (%s) not delivered", event.event_id, event.type
                )
            finally:
                self._delivering = False
