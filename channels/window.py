"""WhatsApp's customer-service window: free-form messages only within 24 h of the customer's."""

from __future__ import annotations

from datetime import datetime, timedelta

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


def window_open(last_customer_at: datetime | None, at: datetime) -> bool:
    """May a free-form message said at `at` be sent? (no customer message yet: no window)"""
    return last_customer_at is not None and at - last_customer_at < CUSTOMER_SERVICE_WINDOW
