"""Web chat sessions: a browser never names its contact, the server does and signs it.

A session token is `tbs_<payload>.<signature>`: the payload (base64url JSON) holds the bot, the
contact id the server chose and the expiry; the signature is HMAC-SHA256 under a key derived
from the deployment's contact-hash key, so every API replica that shares the key ring verifies
it without shared state. Tokens are bearer secrets: sent in the Authorization header only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PREFIX = "tbs_"
WEB_CONTACT_PREFIX = "web_"


@dataclass(frozen=True)
class WebSession:
    bot: str
    contact_id: str
    expires_at: datetime


def signing_key(contact_hash_key: bytes) -> bytes:
    """The sessions' own key, derived so that a leaked session key reveals no contact hashes."""
    return hmac.new(contact_hash_key, b"transbordo web session v1", hashlib.sha256).digest()


def issue(
    key: bytes, bot: str, ttl: timedelta, now: datetime | None = None
) -> tuple[str, WebSession]:
    """A new session for `bot` with a contact id of the server's choosing."""
    now = now or datetime.now(UTC)
    session = WebSession(
        bot=bot,
        contact_id=WEB_CONTACT_PREFIX + secrets.token_urlsafe(18),
        expires_at=(now + ttl).replace(microsecond=0),
    )
    body = json.dumps(
        {"b": bot, "c": session.contact_id, "e": int(session.expires_at.timestamp())},
        separators=(",", ":"),
    ).encode()
    payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{PREFIX}{payload}.{_sign(key, payload)}", session


def verify(key: bytes, token: str, now: datetime | None = None) -> WebSession | None:
    """The session a token stands for, or None when forged, malformed or expired."""
    if not token.startswith(PREFIX) or token.count(".") != 1:
        return None
    payload, signature = token[len(PREFIX) :].split(".")
    if not secrets.compare_digest(signature.encode(), _sign(key, payload).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = WebSession(
            bot=str(data["b"]),
            contact_id=str(data["c"]),
            expires_at=datetime.fromtimestamp(int(data["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires_at <= (now or datetime.now(UTC)):
        return None
    return session


def _sign(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
