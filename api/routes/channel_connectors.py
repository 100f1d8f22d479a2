"""Channel connectors of a bot (admin) and the delivery statuses of a conversation (agent).

The admin saves a bot's WhatsApp or Telegram connector: its secrets are stored encrypted and
never returned; a verify token or secret token the admin did not choose is generated and shown
in the save's answer only.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Response, status

from api.deps import AgentDep, EngineDep, KeyRingDep, require_admin, require_agent
from api.errors import ApiError, ErrorCode
from api.models.channels import (
    ConnectorPublic,
    ConnectorSaved,
    DeliveryPublic,
    TelegramConnectorIn,
    WhatsAppConnectorIn,
)
from api.usecases import agent_actions as actions
from api.usecases.delivery import UnknownBot
from channels.model import PLATFORMS
from store import bots as bot_store
from store import channel_connectors as store
from store.channel_connectors import ConnectorRow, ConnectorSettings
from workflows.refusals import Refusal

admin = APIRouter(tags=["channels"], dependencies=[Depends(require_admin)])
agent = APIRouter(prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)])


@admin.put("/bots/{bot}/channels/whatsapp", response_model=ConnectorSaved)
def save_whatsapp(
    bot: str, body: WhatsAppConnectorIn, engine: EngineDep, ring: KeyRingDep
) -> ConnectorSaved:
    """Create or change the bot's WhatsApp connector."""
    stored = _stored(engine, ring, bot, "whatsapp")
    _require(stored, {"access_token": body.access_token, "app_secret": body.app_secret})
    generated = _generated(stored, "verify_token", body.verify_token)
    row = store.save(
        engine,
        ring,
        ConnectorSettings(
            bot=bot,
            platform="whatsapp",
            account_id=body.phone_number_id,
            secrets={
                "access_token": body.access_token or "",
                "app_secret": body.app_secret or "",
                "verify_token": body.verify_token or generated.get("verify_token", ""),
            },
            template_name=body.template_name,
            template_language=body.template_language,
        ),
    )
    return ConnectorSaved(**_public(row).model_dump(), generated=generated)


@admin.put("/bots/{bot}/channels/telegram", response_model=ConnectorSaved)
def save_telegram(
    bot: str, body: TelegramConnectorIn, engine: EngineDep, ring: KeyRingDep
) -> ConnectorSaved:
    """Create or change the bot's Telegram connector."""
    stored = _stored(engine, ring, bot, "telegram")
    _require(stored, {"bot_token": body.bot_token})
    bot_id = (body.bot_token or "").partition(":")[0] or (stored.account_id if stored else None)
    # Another Telegram bot: a new secret token, so the old bot's webhook (Telegram still posts
    # to it) is refused instead of taken as the new bot's (its message ids would collide).
    switched = stored is not None and stored.account_id != bot_id
    generated = _generated(None if switched else stored, "secret_token", body.secret_token)
    row = store.save(
        engine,
        ring,
        ConnectorSettings(
            bot=bot,
            platform="telegram",
            account_id=bot_id,
            secrets={
                "bot_token": body.bot_token or "",
                "secret_token": body.secret_token or generated.get("secret_token", ""),
            },
            template_name=None,
            template_language=None,
        ),
    )
    return ConnectorSaved(**_public(row).model_dump(), generated=generated)


@admin.get("/bots/{bot}/channels", response_model=list[ConnectorPublic])
def list_connectors(bot: str, engine: EngineDep, ring: KeyRingDep) -> list[ConnectorPublic]:
    """The bot's connectors: which secrets are set, never their values."""
    return [_public(row) for row in store.list_for(engine, ring, bot)]


@admin.delete("/bots/{bot}/channels/{platform}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connector(bot: str, platform: str, engine: EngineDep) -> Response:
    """Remove the connector: its webhook answers 401 from now on."""
    store.delete(engine, bot, platform)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@agent.get("/conversations/{conversation_id}/deliveries", response_model=list[DeliveryPublic])
def deliveries(conversation_id: str, me: AgentDep, engine: EngineDep) -> list[DeliveryPublic]:
    """What became of each entry sent to the customer's channel (sent, delivered, read,
    failed), for the agent who has the conversation or may take it."""
    entry = actions.conversation_for(engine, me, conversation_id)
    if entry.agent_id not in (None, me.id):
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "another agent has this conversation",
            Refusal.NOT_YOUR_CONVERSATION,
        )
    return [
        DeliveryPublic(**vars(d))
        for d in store.deliveries_of(engine, conversation_id)
        if d.seq >= 0
    ]


def _stored(
    engine: EngineDep, ring: KeyRingDep, bot: str, platform: str
) -> ConnectorSettings | None:
    if bot_store.latest(engine, bot) is None:
        raise UnknownBot(bot)
    return store.settings_of(engine, ring, bot, platform)


def _require(stored: ConnectorSettings | None, given: dict[str, str | None]) -> None:
    """A new connector needs every secret; a change may leave them out (kept)."""
    missing = [
        name
        for name, value in given.items()
        if not value and not (stored and stored.secrets.get(name))
    ]
    if missing:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {"loc": ["body", name], "msg": "required for a new connector", "type": "missing"}
                for name in missing
            ],
            ErrorCode.VALIDATION_ERROR,
        )


def _generated(stored: ConnectorSettings | None, name: str, given: str | None) -> dict[str, str]:
    """A token the admin did not choose and none is stored yet: made now, shown once."""
    if given or (stored and stored.secrets.get(name)):
        return {}
    return {name: secrets.token_urlsafe(32)}


def _public(row: ConnectorRow) -> ConnectorPublic:
    assert row.platform in PLATFORMS
    return ConnectorPublic(**vars(row), webhook_path=f"/api/channels/{row.platform}/{row.bot}")
