"""A webhook event not delivered yet, as the outbox holds it and as it travels into the next run
when the conversation continues as new (`ConversationState.webhooks`, workflows/webhook_events.py).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookEvent


class PendingWebhook(BaseModel):
    """One event of the service's webhook outbox and its give-up deadline."""

    event: WebhookEvent
    give_up_at: datetime | None = None
    """When its delivery is given up: `WEBHOOK_GIVE_UP` after its first attempt started (None:
    not tried yet). Carried as is, so continuing as new does not start its 24 h over."""
