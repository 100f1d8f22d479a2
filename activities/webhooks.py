"""Activity: deliver one service event to the service's external webhook, signed.

The workflow gives every event its id once; each retry (with backoff, durable across worker
restarts) sends the same id with a fresh timestamp and signature, so receivers can deduplicate.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import httpx
from prometheus_client import Counter
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from encryption.codec import KeyRing
from omni import webhooks
from store.services import webhook_target

DELIVERY_TIMEOUT_SECONDS = 10.0

DELIVERIES = Counter(
    "transbordo_webhook_deliveries",
    "Webhook delivery attempts by event type and outcome (delivered, failed, skipped: the"
    " webhook was switched off). A failed attempt is retried; served by the worker.",
    ["event", "outcome"],
)


class WebhookEvent(BaseModel):
    event_id: str
    type: str
    """queued, picked_up, message, transferred, finished, abandoned or voicemail."""
    service_id: str
    occurred_at: datetime
    data: dict[str, Any]


class WebhookSender:
    """Holds the DB engine (to read the service's current URL and secret) and the key ring
    the secret is encrypted with in SQL."""

    def __init__(self, engine: Engine, ring: KeyRing) -> None:
        self._engine = engine
        self._ring = ring

    @activity.defn(name="webhook_deliver")
    async def deliver(self, event: WebhookEvent) -> None:
        target = await asyncio.to_thread(webhook_target, self._engine, event.service_id, self._ring)
        if target is None:  # the webhook was switched off since: nothing to send
            DELIVERIES.labels(event.type, "skipped").inc()
            return
        body = json.dumps(
            {
                "id": event.event_id,
                "type": f"conversation.{event.type}",
                "timestamp": event.occurred_at.isoformat(),
                "data": event.data,
            },
            ensure_ascii=False,
        ).encode()
        headers = webhooks.headers(target.secret, event.event_id, int(time.time()), body)
        try:
            async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
                response = await client.post(target.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            DELIVERIES.labels(event.type, "failed").inc()
            raise ApplicationError(f"webhook delivery failed: {type(exc).__name__}") from exc
        if not response.is_success:
            DELIVERIES.labels(event.type, "failed").inc()
            raise ApplicationError(f"webhook answered HTTP {response.status_code}")
        DELIVERIES.labels(event.type, "delivered").inc()
