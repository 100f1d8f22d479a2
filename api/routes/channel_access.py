"""Channel access: connector credentials (admin issues them) and web chat sessions (public).

A connector credential lets a company's backend speak for any contact of one bot; a web
session lets one browser speak for one contact the server chose (api/channel_auth.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Response, status

from api import web_sessions
from api.channel_auth import session_key
from api.deps import EngineDep, KeyRingDep, SettingsDep, require_admin
from api.errors import ApiError, ErrorCode
from api.limits import limit
from api.models.channel import (
    ChannelCredentialCreate,
    ChannelCredentialCreated,
    ChannelCredentialPublic,
    WebSessionPublic,
)
from api.usecases.delivery import UnknownBot
from store import bots as bot_store
from store import channel_credentials

admin = APIRouter(tags=["channel access"], dependencies=[Depends(require_admin)])
public = APIRouter(
    tags=["channel access"],
    dependencies=[limit("requests per address"), limit("sessions per address")],
)
"""Public: anyone may ask for a web session, at the `sessions per address` rate."""

SESSION_LIMITS: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Over a limit of the client address, with `Retry-After` (seconds): "
        "code `too_many_sessions` when too many web sessions were issued to it "
        "(`rate_limit_sessions_per_address`), `rate_limited` when it sent too many requests "
        "of any kind (`rate_limit_per_address`); `limit` names the rule."
    }
}


@admin.post(
    "/bots/{bot}/channel-credentials",
    status_code=status.HTTP_201_CREATED,
    response_model=ChannelCredentialCreated,
)
def create_credential(
    bot: str, body: ChannelCredentialCreate, engine: EngineDep
) -> ChannelCredentialCreated:
    """A connector credential for `bot`; the token appears in this response only."""
    _published(engine, bot)
    credential, token = channel_credentials.create(engine, bot, body.name)
    return ChannelCredentialCreated(**vars(credential), token=token)


@admin.get("/bots/{bot}/channel-credentials", response_model=list[ChannelCredentialPublic])
def list_credentials(bot: str, engine: EngineDep) -> list[ChannelCredentialPublic]:
    """The bot's live credentials, masked."""
    return [ChannelCredentialPublic(**vars(c)) for c in channel_credentials.list_for(engine, bot)]


@admin.delete(
    "/bots/{bot}/channel-credentials/{credential_id}", status_code=status.HTTP_204_NO_CONTENT
)
def revoke_credential(bot: str, credential_id: str, engine: EngineDep) -> Response:
    """Revoke at once: the next request with that token is a 401."""
    channel_credentials.revoke(engine, bot, credential_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public.post(
    "/bots/{bot}/web-sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=WebSessionPublic,
    responses=SESSION_LIMITS,
)
def open_web_session(
    bot: str, ring: KeyRingDep, engine: EngineDep, settings: SettingsDep
) -> WebSessionPublic:
    """A browser's session with a bot whose flow enables `channels.web`; the server picks the
    contact id. Unknown bots and bots without a web channel answer the same 404."""
    version = bot_store.latest(engine, bot)
    if version is None or not version.flow.channels.web:
        raise ApiError(
            status.HTTP_404_NOT_FOUND,
            f"bot {bot!r} has no public web chat",
            ErrorCode.NO_WEB_CHAT,
        )
    token, session = web_sessions.issue(
        session_key(ring), bot, timedelta(seconds=settings.web_session_seconds)
    )
    return WebSessionPublic(
        token=token, contact_id=session.contact_id, expires_at=session.expires_at
    )


def _published(engine: EngineDep, bot: str) -> None:
    if bot_store.latest(engine, bot) is None:
        raise UnknownBot(bot)
