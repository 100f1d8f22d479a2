"""Whether a contact already had a message id answered lately: how a channel connector tells a
platform's late retry from a new message (api/usecases/channel_inbound.py).

Only conversations active within `RETRY_HORIZON` are searched: a platform resends within its
own retry window (Meta for up to 7 days, Telegram keeps an Update for 24 h), so an older
conversation cannot hold a retry, and the lookup does not grow with the contact's history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from store.db import reads
from store.tables import conversations, messages

RETRY_HORIZON = timedelta(days=7)
"""How far back a platform's retry can reach: Meta retries an unanswered webhook for 7 days."""

_ANSWERED = (
    sa.select(sa.literal(1))
    .select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
    .where(
        conversations.c.bot == sa.bindparam("bot"),
        conversations.c.contact_id == sa.bindparam("contact"),
        conversations.c.updated_at > sa.bindparam("since"),
        messages.c.message_id == sa.bindparam("message"),
        messages.c.sender == "customer",  # an agent's reply keeps its key (api/models/channel.py)
    )
    .limit(1)
)


def answered_lately(engine: Engine, bot: str, contact_id: str, message_id: str) -> bool:
    """True when a conversation of the contact active within the horizon holds `message_id`."""
    since = datetime.now(UTC) - RETRY_HORIZON
    params = {"bot": bot, "contact": contact_id, "message": message_id, "since": since}
    with reads(engine) as conn:
        return conn.execute(_ANSWERED, params).first() is not None
