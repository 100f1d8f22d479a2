"""How a menu's buttons are named on the channels: `m.<tag>.<number>`, the tag a short hash
of the menu's question and options. The channels put it in their buttons' ids
(channels/whatsapp.py, channels/telegram.py) and read it back from a press; the workflow
compares it with the menu it asks now (workflows/menu_press.py). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re

MENU_TAG = 8
"""Hex digits of a menu's tag in its buttons' ids (`button_id`: at most 14 characters, within
Telegram's 64 bytes of callback data and WhatsApp's 200 of a list row id)."""
_BUTTON_ID = re.compile(rf"m\.([0-9a-f]{{{MENU_TAG}}})\.([1-9][0-9]{{0,3}})")


def menu_tag(text: str | None, options: list[str]) -> str:
    """A short hash of a menu's question and options: its buttons' ids carry it, so a press on
    an older menu's button (scrolled up in the chat) is told from one on the menu now asked,
    and two yes/no questions' "Sim" from each other."""
    listed = json.dumps([text or "", options], ensure_ascii=False).encode()
    return hashlib.sha256(listed).hexdigest()[:MENU_TAG]


def button_id(text: str | None, options: list[str], number: int) -> str:
    """The id of a menu's button or list row: its menu's tag and the option's number."""
    return f"m.{menu_tag(text, options)}.{number}"


def read_button_id(button: str) -> tuple[str, str | None]:
    """(the text the flow reads, the menu's tag) of a pressed button's id. An id without a tag
    (a bare option number, as sent before menus were tagged; another's payload) is read as
    before: the id itself, no tag."""
    tagged = _BUTTON_ID.fullmatch(button)
    return (tagged.group(2), tagged.group(1)) if tagged else (button, None)
