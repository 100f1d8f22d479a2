"""A service's "Notificar usuário na fila de espera" carousel: its cards and their buttons, as
stored and read (``QueueNotifications``) and as an admin saves them (``QueueNotificationsIn``:
card images on https only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from omni.model_fields import Flag, HttpUrl, Model, Seconds

MAX_CARDS = 10
MAX_BUTTONS = 3


class Button(Model):
    """A card button: opens ``url`` or sends ``payload`` back as the customer's answer."""

    label: str = Field(min_length=1, max_length=40)
    url: HttpUrl | None = None
    payload: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_action(self) -> Button:
        if (self.url is None) == (self.payload is None):
            raise ValueError("a button has either url or payload")
        return self


class Card(Model):
    """One card of the waiting-queue carousel."""

    title: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=1000)
    image_url: HttpUrl | None = None
    buttons: list[Button] = Field(default_factory=list, max_length=MAX_BUTTONS)


class QueueNotifications(Model):
    """The "Notificar usuário na fila de espera" carousel, sent every ``interval_seconds``."""

    enabled: Flag = False
    interval_seconds: Seconds = 60
    cards: Sequence[Card] = Field(default_factory=list, max_length=MAX_CARDS)

    @model_validator(mode="after")
    def _cards_when_enabled(self) -> QueueNotifications:
        if self.enabled and not self.cards:
            raise ValueError("cards: at least one card is needed when enabled")
        return self


def _https_image(value: str) -> str:
    if urlsplit(value).scheme != "https":
        raise PydanticCustomError(
            "url_not_https", "must be an https:// URL (the web chat shows only https images)"
        )
    return value


class CardIn(Card):
    """A card as an admin saves it: its image on https://, the only images the web chat's
    Content-Security-Policy lets in from other hosts (api/routes/pages.py). A card stored
    before with an http:// image still reads (``Card``); it is refused at its next save."""

    image_url: Annotated[HttpUrl, AfterValidator(_https_image)] | None = None


class QueueNotificationsIn(QueueNotifications):
    """The carousel as an admin saves it (``CardIn``)."""

    cards: Sequence[CardIn] = Field(default_factory=list, max_length=MAX_CARDS)
