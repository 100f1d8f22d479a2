"""The queue cards' images a web chat may show: those of every service's carousel that is on
(an off one is never sent). Every service, not only those a bot's Humano blocks name: an agent
may transfer the conversation to any service, whose cards the chat then shows. Read when the
chat page is served: its Content-Security-Policy lets in these URLs' origins and no other
host's (api/usecases/chat_images.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine

from omni.queue_cards import QueueNotifications
from store.db import reads
from store.tables import services


def card_image_urls(engine: Engine) -> list[str]:
    """The image URLs of every enabled queue-card carousel."""
    with reads(engine) as conn:
        rows = conn.execute(sa.select(services.c.queue_notifications)).all()
    carousels = [QueueNotifications.model_validate(row[0]) for row in rows if row[0]]
    return [
        card.image_url
        for carousel in carousels
        if carousel.enabled
        for card in carousel.cards
        if card.image_url is not None
    ]
