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
from omni.care_words import CSAT_OPTIONS, CSAT_QUESTION
from store import bots as bot_store
from store.conversations import ConversationRow, conversation_of
from store.db import reads
from store.tables import bot_versions, conversations, messages


@dataclass(frozen=True, slots=True)
class Standing:
    row: ConversationRow
    seq: int
    """The seq the status and block were taken at (the last seq for a row written before
    `status_seq` was kept; 0: not known yet, a first turn written without its status)."""
    menu: int | None
    """The seq of the menu the flow waits on as of `seq` (None: no menu is asked)."""


_c, _m = conversations.c, messages.c
_TAKEN = sa.case((_c.status_seq > 0, _c.status_seq), else_=_c.last_seq)
_MENU_SEQ = (
    sa.select(_m.seq)
    .where(
        _m.conversation_id == _c.id,
        _m.kind == sa.literal_column("'menu'"),  # literals: the partial index (0025)
        _m.sender == sa.literal_column("'bot'"),
        _m.seq <= _TAKEN,
    )
    .order_by(_m.seq.desc())
    .limit(1)
    .scalar_subquery()
)
"""The seq of the newest menu the bot said up to the status's seq: one step down
`ix_messages_bot_menus`, however many messages came since."""
_menu = messages.alias("menu")

_STANDING = (
    sa.select(
        conversations,
        bot_versions.c.created_at.label("flow_at"),
        _menu.c.seq.label("menu_seq"),
        _menu.c.text.label("menu_text"),
        _menu.c.data.label("menu_data"),
    )
    .select_from(
        conversations.outerjoin(
            bot_versions,
            sa.and_(bot_versions.c.bot == _c.bot, bot_versions.c.version == _c.bot_version),
        ).outerjoin(  # by primary key; only while the status is `bot` (no search otherwise)
            _menu,
            sa.and_(
                _menu.c.conversation_id == _c.id,
                _menu.c.seq == sa.case((_c.status == "bot", _MENU_SEQ)),
            ),
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
    if row.status_seq == 0 and row.block is None:  # a first turn's row, its status not yet
        return Standing(row, 0, None)  # written: nothing known, no menu judged inert
    return Standing(row, row.status_seq or row.last_seq, _asked(engine, row, found))


def _asked(engine: Engine, row: ConversationRow, found: sa.Row[Any]) -> int | None:
    """The newest menu while the flow stands at a menu block or the survey is open; kept live
    whenever the flow is not known (its version gone, a block it lacks): a menu is never made
    inert by lack of knowledge, as the page did before status events."""
    if found.menu_seq is None:
        return None
    menu = int(found.menu_seq)
    version = None
    if found.flow_at is not None:
        version = bot_store.version_of(engine, row.bot, row.bot_version, found.flow_at)
    if version is None or row.block is None:
        return menu if version is None else None
    block = version.flow.blocks.get(row.block)
    if block is None or isinstance(block, MenuBlock):
        return menu
    return menu if isinstance(block, HumanBlock) and _survey(found) else None


def _survey(found: sa.Row[Any]) -> bool:
    """The satisfaction survey's question: its text, or its options (the text may have changed
    in a deploy since it was asked)."""
    data = found.menu_data
    options = data.get("options") if isinstance(data, dict) else None
    return found.menu_text == CSAT_QUESTION or options == list(CSAT_OPTIONS)
