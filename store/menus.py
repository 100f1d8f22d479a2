"""The menu a conversation showed last, and its flow: what a channel button's press is read
against (api/usecases/channel_clicks.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine

from store import bots as bot_store
from store.bots import BotVersion
from store.db import reads
from store.tables import bot_versions, messages

_LATEST_MENU = (
    sa.select(messages.c.data)
    .where(messages.c.conversation_id == sa.bindparam("id"), messages.c.kind == "menu")
    .order_by(messages.c.seq.desc())
    .limit(1)
)  # the primary key (conversation_id, seq), walked from the newest entry
_CREATED = sa.select(bot_versions.c.created_at).where(
    bot_versions.c.bot == sa.bindparam("bot"), bot_versions.c.version == sa.bindparam("version")
)


def latest_menu_options(engine: Engine, conversation_id: str) -> list[str] | None:
    """The options of the conversation's newest menu entry (None: it showed no menu)."""
    with reads(engine) as conn:
        data = conn.execute(_LATEST_MENU, {"id": conversation_id}).scalar()
    options = data.get("options") if isinstance(data, dict) else None
    return [str(option) for option in options] if isinstance(options, list) else None


def version_numbered(engine: Engine, bot: str, version: int) -> BotVersion | None:
    """The bot's version `version` (a conversation's own, maybe older than the newest), its
    flow parsed once per process (store/bots.py `version_of`)."""
    with reads(engine) as conn:
        created_at = conn.execute(_CREATED, {"bot": bot, "version": version}).scalar()
    return bot_store.version_of(engine, bot, version, created_at) if created_at else None
