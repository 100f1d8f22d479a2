"""Who is on the other end of a channel route, and which conversations it may touch.

Two kinds of channel clients (docs/security.md):

- a **connector** (a company's backend, a WhatsApp adapter) presents a per-bot channel
  credential (`tbc_…`, issued by an admin, stored hashed) and names the contact of each message;
- a **browser** presents a web session (`tbs_…`, see api/web_sessions.py) that the server issued
  for a bot whose flow enables `channels.web`; the session fixes the contact, chosen by the server.

The admin token may read conversations (ops), never speak for a customer. A client that is not
entitled to a conversation gets the same 404 as for one that does not exist: existence must not
leak. Nothing here trusts a contact id from a browser.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request, status
from sqlalchemy import Engine

from api import web_sessions
from api.deps import Credentials, parts_of, unauthorized
from api.errors import ApiError, ErrorCode
from encryption.codec import KeyRing, ring_of
from store import bots as bot_store
from store import channel_credentials
from store.conversations import ConversationRow


@dataclass(frozen=True)
class ChannelClient:
    kind: Literal["connector", "web", "admin"]
    bot: str | None
    """The bot a connector credential or a web session belongs to (None for the admin)."""
    contact_id: str | None = None
    """The contact a web session speaks for."""


def session_key(ring: KeyRing) -> bytes:
    """The web sessions' signing key, derived from the deployment's key ring (so every replica
    that shares the ring verifies every session)."""
    return web_sessions.signing_key(ring.contact_hash_key)


async def channel_client(request: Request, credentials: Credentials) -> ChannelClient:
    """The channel client behind the request's bearer token; 401 without a valid one. On the
    event loop (no thread hop) unless a connector credential must be looked up in SQL."""
    if credentials is None:
        raise unauthorized()
    parts = parts_of(request)
    ring, engine, settings = ring_of(parts.client), parts.engine, parts.settings
    token = credentials.credentials
    if token.startswith(web_sessions.PREFIX):
        session = web_sessions.verify(session_key(ring), token)
        if session is not None:
            return ChannelClient("web", session.bot, session.contact_id)
    elif token.startswith("tbc_"):
        ttl = settings.channel_credential_cache_seconds
        bot = channel_credentials.cached_bot(
            engine, token, cache_seconds=ttl
        ) or await asyncio.to_thread(
            channel_credentials.bot_of_token, engine, token, cache_seconds=ttl
        )
        if bot is not None:
            return ChannelClient("connector", bot)
    elif settings.admin_token and secrets.compare_digest(
        token.encode(), settings.admin_token.encode()
    ):
        return ChannelClient("admin", None)
    raise unauthorized()


ChannelClientDep = Annotated[ChannelClient, Depends(channel_client)]
CONTACT_ID_REQUIRED = "Field required: a connector names the contact of each message"


def contact_for_message(
    client: ChannelClient, bot: str, contact_id: str | None, *, given_in: str = "body"
) -> str:
    """The contact a message to `bot` speaks for: the session's, or the one a connector names
    (a connector without `contact_id`: 422 on the field, `given_in` the body or the query)."""
    if client.kind == "admin" or client.bot != bot:
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            f"this credential does not speak for bot {bot!r}",
            ErrorCode.FORBIDDEN,
        )
    if client.kind == "web":
        assert client.contact_id is not None
        if contact_id is not None and contact_id != client.contact_id:
            raise ApiError(
                status.HTTP_403_FORBIDDEN,
                "a web session speaks only for its own contact",
                ErrorCode.FORBIDDEN,
            )
        return client.contact_id
    if contact_id is None:
        item = {"type": "missing", "loc": [given_in, "contact_id"], "msg": CONTACT_ID_REQUIRED}
        raise ApiError(status.HTTP_422_UNPROCESSABLE_CONTENT, [item], ErrorCode.VALIDATION_ERROR)
    return contact_id


CONTACT_FIELD_NOT_ALLOWED = "contact_field_not_allowed"
"""The `type` of the 422 item refusing a contact field other than `name` from a web session."""


def refuse_claimed_contact(client: ChannelClient, fields: Mapping[str, Any] | None) -> None:
    """A web session's contact gives a name only: anyone can open one, so its other fields
    (`cpf`, `verified`, `customer_id`) would be what a customer typed, which a flow could not
    tell from what a connector vouches for. A 422 naming the field, never its value."""
    if client.kind != "web" or not fields:
        return
    field = next(iter(fields))[:64]
    message = (
        f"a web session may give only the contact's name, not {field}: the other contact"
        " fields are a connector's to give"
    )
    item = {"type": CONTACT_FIELD_NOT_ALLOWED, "loc": ["body", "contact"], "msg": message}
    raise ApiError(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{**item, "ctx": {"field": field}}],
        ErrorCode.VALIDATION_ERROR,
    )


def may_touch(client: ChannelClient, row: ConversationRow, *, as_customer: bool) -> bool:
    """Whether `client` may read (or, `as_customer`, act on) the conversation `row`."""
    if client.kind == "admin":
        return not as_customer
    if client.bot != row.bot:
        return False
    return client.kind == "connector" or client.contact_id == row.contact_id


def refuse_closed_web_chat(engine: Engine, client: ChannelClient, bot: str) -> None:
    """A web session speaks and reads only while `bot`'s web chat is open: turned off, its open
    windows stop too (404 `no_web_chat`; a browser's EventSource does not retry a 404)."""
    if client.kind == "web" and not web_chat_open(engine, bot):
        raise ApiError(
            status.HTTP_404_NOT_FOUND, f"bot {bot!r} has no public web chat", ErrorCode.NO_WEB_CHAT
        )


def web_chat_open(engine: Engine, bot: str) -> bool:
    """Whether `bot`'s newest version still enables the public web chat (a session outlives a
    change of mind: it is checked again on every message)."""
    version = bot_store.latest(engine, bot)
    return version is not None and version.flow.channels.web
