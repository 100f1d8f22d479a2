"""Webhook authenticity: WhatsApp's X-Hub-Signature-256 and Telegram's secret token header."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def whatsapp_signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`."""
    if not header or not header.startswith("sha256=") or not app_secret:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def whatsapp_signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for `body` (tests and stand-ins sign with it)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def telegram_secret_ok(expected: str, header: str | None) -> bool:
    """`X-Telegram-Bot-Api-Secret-Token` equals the secret given to setWebhook."""
    if not header or not expected:
        return False
    return secrets.compare_digest(expected.encode(), header.encode())


def verify_handshake(
    verify_token: str, mode: str | None, token: str | None, challenge: str | None
) -> str | None:
    """WhatsApp's GET handshake: the challenge to echo, or None (refuse)."""
    if mode != "subscribe" or challenge is None or not token or not verify_token:
        return None
    return challenge if secrets.compare_digest(verify_token.encode(), token.encode()) else None
