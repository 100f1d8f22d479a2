"""Channel connectors (WhatsApp, Telegram) as the admin configures them, and delivery statuses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WhatsAppConnectorIn(BaseModel):
    """The WhatsApp Cloud API numbers and secrets of a bot (Meta's app dashboard shows them).

    Secrets left out keep their stored value; `verify_token` is generated when never given."""

    phone_number_id: str = Field(min_length=1, max_length=100, pattern=r"^[0-9]+$")
    access_token: str | None = Field(default=None, min_length=1, max_length=1000)
    app_secret: str | None = Field(default=None, min_length=1, max_length=200)
    verify_token: str | None = Field(default=None, min_length=8, max_length=200)
    template_name: str | None = Field(default=None, min_length=1, max_length=512)
    """An approved template sent (once per silence) when the 24-hour window is closed."""
    template_language: str = Field(default="pt_BR", min_length=2, max_length=16)


class TelegramConnectorIn(BaseModel):
    """The Telegram bot's token (from @BotFather); `secret_token` is generated when never given."""

    bot_token: str | None = Field(
        default=None, min_length=3, max_length=200, pattern=r"^[0-9]+:[A-Za-z0-9_-]+$"
    )
    """`<bot id>:<secret>` as @BotFather gives it (it goes into the Bot API's URL path)."""
    secret_token: str | None = Field(
        default=None, min_length=8, max_length=256, pattern=r"^[A-Za-z0-9_-]+$"
    )


class ConnectorPublic(BaseModel):
    """A connector as lists show it: which secrets are set, never their values."""

    id: str
    bot: str
    platform: str
    account_id: str | None
    secrets_set: list[str]
    template_name: str | None
    template_language: str | None
    updated_at: datetime
    webhook_path: str
    """Where the platform posts its webhook (append it to the API's public address)."""


class ConnectorSaved(ConnectorPublic):
    """The answer to a save: a secret generated now appears here, this once."""

    generated: dict[str, str] = Field(default_factory=dict)


class DeliveryPublic(BaseModel):
    """What became of one part of a transcript entry sent to the customer's channel."""

    seq: int
    part: int
    platform: str
    status: str
    error: str | None
    updated_at: datetime
