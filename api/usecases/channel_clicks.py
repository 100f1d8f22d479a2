"""A press of a WhatsApp or Telegram menu button, read against the menu it belongs to.

The buttons' ids name their menu (channels/model.py `button_id`: a hash of its options), so the
flow reads the option's number only while that menu is the question the conversation waits on.
A press on an older menu's button (scrolled up in the chat) is what the customer saw on it, the
button's title, as plain text, which the flow matches or asks again: never the current menu's
option of the same number. Ids without a tag (sent before menus were tagged) read as before.
"""

from __future__ import annotations

from sqlalchemy import Engine

from bots.models import MenuBlock
from channels.model import Inbound, menu_tag
from store import conversations as conversation_log
from store import menus

UNTITLED = "[botão de um menu anterior]"
"""The text of an older menu's button whose title the platform did not send back (a Telegram
message too old to be shown with its keyboard): the flow asks again."""


def text_of(engine: Engine, bot: str, contact_id: str, message: Inbound) -> str:
    """The text the flow reads for `message` (SQL is read for a tagged button's press only)."""
    click = message.click
    if click is None or click.menu == current_menu(engine, bot, contact_id):
        return message.text
    return click.title or UNTITLED


def current_menu(engine: Engine, bot: str, contact_id: str) -> str | None:
    """The tag of the menu the contact's open conversation waits on: its flow stands at a menu
    block and the log's newest menu is that block's (None: no menu is asked now)."""
    row = conversation_log.latest_conversation(engine, bot, contact_id)
    if row is None or row.status != "bot" or row.block is None:
        return None
    version = menus.version_numbered(engine, bot, row.bot_version)
    if version is None or not isinstance(version.flow.blocks.get(row.block), MenuBlock):
        return None
    options = menus.latest_menu_options(engine, row.id)
    return menu_tag(options) if options else None
