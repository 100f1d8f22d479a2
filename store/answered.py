"""Which customer message of a contact carries a message id: the query `answer_of` reads a
replay's recorded answer by (store/conversations.py), and `answered_lately`, how a channel
connector tells a platform's late retry from a new message (api/usecases/channel_inbound.py).

`answered_lately` searches only conversations active within `RETRY_HORIZON`: a platform resends
within its own retry window (Meta for up to 7 days, Telegram keeps an Update for 24 h), so an
older conversation cannot hold a retry, and the lookup does not grow with the contact's history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from store.db import reads
from store.tables import conversations, messages

RETRY_HORIZON = timedelta(days=7)
"""How far back a platform's retry can reach: Meta retries an unanswered webhook for 7 days."""

_CUSTOMERS = (
    sa.select(messages.c.conversation_id, messages.c.seq)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .where(
        conversations.c.bot == sa.bindparam("bot"),
        conversations.c.contact_id == sa.bindparam("contact"),
        messages.c.sender == "customer",  # an agent's reply keeps its key (api/models/channel.py)
    )
)
ANSWERED = _CUSTOMERS.where(messages.c.message_id == sa.bindparam("message")).limit(1)
"""The contact's customer message `message` (its conversation_id and seq), in any conversation."""
EARLIER_HORIZON = timedelta(hours=24)
"""How far back an id's earlier form is asked: the platform that changed form (Telegram) keeps
an Update for 24 h, so an older entry under that form cannot be a retry (only a collision)."""
_LATELY = _CUSTOMERS.where(
    conversations.c.updated_at > sa.bindparam("since"),
    sa.or_(
        messages.c.message_id == sa.bindparam("message"),
        sa.and_(
            messages.c.message_id == sa.bindparam("earlier"),
            messages.c.created_at > sa.bindparam("earlier_since"),
        ),
    ),
).limit(1)


def answered_lately(
    engine: Engine, bot: str, contact_id: str, message_id: str, earlier: str | None = None
) -> bool:
    """True when a conversation of the contact active within the horizon holds `message_id`,
    or `earlier`: the same message's id in an older form (a retry of a message taken before
    the platform's ids changed form, logged within `EARLIER_HORIZON`: channels/telegram.py
    `earlier_id`)."""
    now = datetime.now(UTC)
    params = {
        "bot": bot,
        "contact": contact_id,
        "since": now - RETRY_HORIZON,
        "message": message_id,
        "earlier": earlier,
        "earlier_since": now - EARLIER_HORIZON,
    }
    with reads(engine) as conn:
        return conn.execute(_LATELY, params).first() is not None
