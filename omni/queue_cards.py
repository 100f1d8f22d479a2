"""A service's "Notificar usuário na fila de espera" carousel: its cards and their buttons, as
stored and read (``QueueNotifications``) and as an admin saves them (``QueueNotificationsIn``:
an enabled carousel's images on https only)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails

from omni.field_errors import FieldCode, refused
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
            raise refused(FieldCode.BUTTON_ACTION, "a button has either url or payload")
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
        if self.enabled and not self.cards:  # said at the cards (queue_notifications.cards)
            at_cards: InitErrorDetails = {
                "type": refused(
                    FieldCode.CARDS_REQUIRED, "at least one card is needed when enabled"
                ),
                "loc": ("cards",),
                "input": [],
            }
            raise ValidationError.from_exception_data("queue_notifications", [at_cards])
        return self


HTTPS_IMAGE_HELP = (
    "https:// when the carousel is enabled (422 url_not_https otherwise): the web chat shows"
    " images from https hosts only. While it is disabled an http:// image stored earlier is"
    " accepted as it was read, so a read-modify-write of the service still saves."
)


class CardIn(Card):
    """A card as an admin saves it: its image must be https:// when its carousel is enabled
    (``QueueNotificationsIn``), the only images the web chat's Content-Security-Policy lets in
    from other hosts (api/routes/pages.py)."""

    image_url: HttpUrl | None = Field(default=None, description=HTTPS_IMAGE_HELP)


class QueueNotificationsIn(QueueNotifications):
    """The carousel as an admin saves it (``CardIn``): when enabled, every card's image is
    https://. A disabled carousel keeps the cards stored before the rule (an http:// image)
    as they are, so an old service stays editable; turning it on asks for https."""

    cards: Sequence[CardIn] = Field(default_factory=list, max_length=MAX_CARDS)

    @field_validator("cards")
    @classmethod
    def _https_images_when_enabled(
        cls, cards: Sequence[CardIn], info: ValidationInfo
    ) -> Sequence[CardIn]:
        if info.data.get("enabled") is not True:
            return cards
        on_http: list[InitErrorDetails] = [
            {
                "type": refused(
                    FieldCode.URL_NOT_HTTPS,
                    "must be an https:// URL (the web chat shows only https images)",
                ),
                "loc": (index, "image_url"),
                "input": card.image_url,
            }
            for index, card in enumerate(cards)
            if card.image_url is not None and urlsplit(card.image_url).scheme != "https"
        ]
        if on_http:  # each at its card's field (queue_notifications.cards.N.image_url)
            raise ValidationError.from_exception_data("cards", on_http)
        return cards
