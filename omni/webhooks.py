"""Signing webhook deliveries the Standard Webhooks way (pure: no I/O, no clock).

`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the bytes
inside the service's `whsec_` secret. A receiver checks it with the same three headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from omni.keys import webhook_secret_bytes


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one delivery attempt."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, event_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(secret: str, event_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether any `v1,` signature in `header` matches (constant-time)."""
    expected = signature(secret, event_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
