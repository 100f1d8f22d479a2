"""Webhook authenticity: WhatsApp's X-Hub-Signature-256 and Telegram's secret token header.

Comparisons are of bytes (a header may hold any character: str comparison raises on non-ASCII),
and a bot without a connector (empty secret) is checked against a throwaway secret, so the time
taken does not tell whether the bot has one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_THROWAWAY = secrets.token_bytes(32)
"""What an empty secret is compared with (the result is then False whatever matched)."""


def _key(secret: str) -> bytes:
    return secret.encode() if secret else _THROWAWAY


def _given(header: str | None) -> bytes:
    return (header or "").encode("utf-8", "surrogateescape")


def whatsapp_signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`."""
    given = _given(header)
    expected = b"sha256=" + hmac.new(_key(app_secret), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, given) and bool(app_secret)


def whatsapp_signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for `body` (tests and stand-ins sign with it)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def telegram_secret_ok(expected: str, header: str | None) -> bool:
    """`X-Telegram-Bot-Api-Secret-Token` equals the secret given to setWebhook."""
    return secrets.compare_digest(_key(expected), _given(header)) and bool(expected)


def verify_handshake(
    verify_token: str, mode: str | None, token: str | None, challenge: str | None
) -> str | None:
    """WhatsApp's GET handshake: the challenge to echo, or None (refuse)."""
    same = secrets.compare_digest(_key(verify_token), _given(token)) and bool(verify_token)
    return challenge if same and mode == "subscribe" and challenge is not None else None
