"""Secrets of the Omni module: API keys, agent and channel tokens, webhook secrets.

API keys and agent tokens are 256-bit random strings, so a single SHA-256 is the right hash for
storage and lookup (no stretching needed: nobody can guess the preimage). The clear value is shown
once at creation; the database keeps only the hash and a short display prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

API_KEY_PREFIX = "tbk_"
AGENT_TOKEN_PREFIX = "tba_"
CHANNEL_TOKEN_PREFIX = "tbc_"
WEBHOOK_SECRET_PREFIX = "whsec_"
TOKEN_BYTES = 32
DISPLAY_CHARS = 8
MIN_WEBHOOK_SECRET_BYTES = 16


def new_api_key() -> str:
    """A fresh integration API key ("Copiar API Key")."""
    return API_KEY_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def new_agent_token() -> str:
    """A fresh bearer token for an agent."""
    return AGENT_TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def new_channel_token() -> str:
    """A fresh bearer token for a bot's server-side channel connector."""
    return CHANNEL_TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def new_webhook_secret() -> str:
    """A fresh webhook signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(TOKEN_BYTES)).decode()


def hash_key(key: str) -> str:
    """The stored form of an API key or agent token: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """What lists show of a key: its type prefix and a few characters, never enough to use it."""
    head = key.split("_", 1)[0] + "_" if "_" in key else ""
    return key[: len(head) + DISPLAY_CHARS]


def hashes_match(stored_hash: str, key: str) -> bool:
    """Constant-time check that ``key`` hashes to ``stored_hash``."""
    return secrets.compare_digest(stored_hash.encode(), hash_key(key).encode())


def webhook_secret_bytes(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ValueError when it is not one."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {WEBHOOK_SECRET_PREFIX!r}")
    try:
        raw = base64.b64decode(secret[len(WEBHOOK_SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if len(raw) < MIN_WEBHOOK_SECRET_BYTES:
        raise ValueError(f"a webhook secret holds at least {MIN_WEBHOOK_SECRET_BYTES} bytes")
    return raw
