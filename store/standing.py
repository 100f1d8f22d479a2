"""Where a conversation stands, for the web chat's stream (api/routes/channel.py `_events`):
its row, and the menu entry whose answer the flow waits for, in one read.

The menu asked is the one workflows/menu_press.py `asked_menu` names, read from SQL as of the
seq the row's status was taken at (`status_seq`): the newest menu the bot said up to that seq,
while the conversation is the bot's and its flow stands at a menu block, or the satisfaction
survey is open (status `bot` in the Humano block, its question the newest menu). A page that
knows it tells exactly whether a menu on screen still takes a click, whatever the flow did since
without the customer (a re-asked menu, a timeout to another block, a reload after one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from bots.models import HumanBlock, MenuBlock
from omni.care_words import CSAT_QUESTION
from store import bots as bot_store
from store.conversations import ConversationRow, conversation_of
from store.db import reads
from store.tables import bot_versions, conversations, messages


@dataclass(frozen=True, slots=True)
class Standing:
    row: ConversationRow
    seq: int
    """The seq the status and block were taken at (the last seq for a row written before
    `status_seq` was kept)."""
    menu: int | None
    """The seq of the menu the flow waits on as of `seq` (None: no menu is asked)."""


_c, _m = conversations.c, messages.c
_TAKEN = sa.case((_c.status_seq > 0, _c.status_seq), else_=_c.last_seq)


def _newest_menu(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """`column` of the newest menu the bot said up to the status's seq, while the status is
    `bot` (SQLite's CASE skips the scan otherwise)."""
    newest = (
        sa.select(column)
        .where(_m.conversation_id == _c.id, _m.sender == "bot", _m.kind == "menu", _m.seq <= _TAKEN)
        .order_by(_m.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.case((_c.status == "bot", newest))


_STANDING = (
    sa.select(
        conversations,
        bot_versions.c.created_at.label("flow_at"),
        _newest_menu(_m.seq).label("menu_seq"),
        _newest_menu(_m.text).label("menu_text"),
    )
    .select_from(
        conversations.outerjoin(
            bot_versions,
            sa.and_(bot_versions.c.bot == _c.bot, bot_versions.c.version == _c.bot_version),
        )
    )
    .where(_c.id == sa.bindparam("id"))
)
"""The row, its flow version's key (store/bots.py `version_of`: parsed once per process) and
the newest menu up to the status's seq: one statement, as the row's read alone was."""


def standing(engine: Engine, conversation_id: str) -> Standing | None:
    """Where the conversation stands (None: no such row)."""
    with reads(engine) as conn:
        found = conn.execute(_STANDING, {"id": conversation_id}).first()
    if found is None:
        return None
    row = conversation_of(found)
    return Standing(row, row.status_seq or row.last_seq, _asked(engine, row, found))


def _asked(engine: Engine, row: ConversationRow, found: sa.Row[Any]) -> int | None:
    if found.menu_seq is None:
        return None
    if found.flow_at is None:  # the version is gone: the newest menu, as before status events
        return int(found.menu_seq)
    version = bot_store.version_of(engine, row.bot, row.bot_version, found.flow_at)
    block = version.flow.blocks.get(row.block or "") if version is not None else None
    survey = isinstance(block, HumanBlock) and found.menu_text == CSAT_QUESTION
    return int(found.menu_seq) if isinstance(block, MenuBlock) or survey else None
