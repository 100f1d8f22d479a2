"""The connector model every channel module fills in: what came in, what goes out.

A channel module turns the platform's webhook body into `Inbound` customer messages and
`StatusUpdate`s, and renders one transcript entry (`Outgoing`) into the platform's request
bodies (`Request`), in order. The I/O around it (signature check on the raw body, HTTP calls,
retries, SQL) is the caller's: api/routes/channel_webhooks.py and activities/channel_send.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bots.menu_ids import button_id as button_id  # a menu's buttons' ids (the flow's menus)
from bots.menu_ids import menu_tag as menu_tag
from bots.menu_ids import read_button_id as read_button_id

Platform = Literal["whatsapp", "telegram"]
PLATFORMS: tuple[Platform, ...] = ("whatsapp", "telegram")
DeliveryStatus = Literal["sent", "delivered", "read", "failed"]

MAX_TEXT = 4096
"""Characters of one text message on both platforms."""
MAX_DATA = 200
"""Characters of a string the agent sees besides the text (a file name, the option chosen)."""


@dataclass(frozen=True)
class Click:
    """A press of a menu button whose id names its menu (`button_id`). The option's number,
    `Inbound.text`, means that option only while its menu is the question the conversation
    waits on (workflows/menu_press.py); on an older menu the customer meant `title`."""

    menu: str
    """The menu's tag (`menu_tag`)."""
    title: str | None
    """The button's label as the platform showed it (cut where it did not fit), if known."""


@dataclass(frozen=True)
class Inbound:
    """One customer message as the platform sent it."""

    platform_id: str
    """The platform's id of the message (deduplication; never sent to Temporal in clear)."""
    sender: str
    """Who wrote: the WhatsApp number (wa_id) or the Telegram chat id."""
    text: str
    name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """What the agent should see besides the text (media, the option chosen), and the ack."""
    click: Click | None = None
    """A press of a button of ours that names its menu (`text` is the option's number)."""


@dataclass(frozen=True)
class StatusUpdate:
    """The platform's word on a message we sent."""

    platform_id: str
    status: DeliveryStatus
    error: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One transcript entry to deliver (kind text, menu, card, notice, wait_time_notice)."""

    kind: str
    text: str | None
    options: list[str] | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Request:
    """One call to the platform: the method path (after the account part) and the JSON body."""

    method: str
    body: dict[str, Any]


class Connector(Protocol):
    """What a channel module provides (channels/whatsapp.py, channels/telegram.py)."""

    def parse(
        self, payload: dict[str, Any], account_id: str | None = None
    ) -> tuple[list[Inbound], list[StatusUpdate]]:
        """Messages and statuses of one webhook body; `account_id` is the connector's: WhatsApp's
        phone_number_id (changes for another number of the same app are dropped), Telegram's
        bot id (it scopes message ids: channels/telegram.py)."""
        ...

    def render(self, recipient: str, message: Outgoing) -> list[Request]: ...

    def ack(self, recipient: str, data: dict[str, Any]) -> list[Request]:
        """Requests that acknowledge a customer's message when we answer it (read receipt,
        typing, a callback query's answer)."""
        ...


def chunks(text: str, size: int = MAX_TEXT) -> list[str]:
    """`text` cut into pieces of at most `size` characters, at a line or word break if any."""
    pieces: list[str] = []
    rest = text
    while len(rest) > size:
        cut = rest.rfind("\n", 0, size)
        if cut <= 0:
            cut = rest.rfind(" ", 0, size)
        if cut <= 0:
            cut = size
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    return [*pieces, rest] if rest or not pieces else pieces


def clip(text: str, size: int) -> str:
    """`text` within `size` characters, an ellipsis marking a cut."""
    return text if len(text) <= size else text[: size - 1] + "…"


def clip_data(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its strings clipped to MAX_DATA characters (what the platform lets a
    customer make long: file names, button titles)."""
    return {k: clip(v, MAX_DATA) if isinstance(v, str) else v for k, v in data.items()}


def unsupported(kind: str) -> tuple[str, dict[str, Any]]:
    """A message kind we do not read still becomes a transcript entry, so the agent knows."""
    kind = clip(kind or "?", 40)
    return f"[mensagem não suportada: {kind}]", {"unsupported": kind}


def numbered(text: str | None, options: list[str]) -> str:
    """A menu as plain text: how a menu reads where buttons do not fit."""
    prompt = menu_prompt(text, options)
    lines = [prompt] if prompt else []
    lines += [f"{number}. {label}" for number, label in enumerate(options, 1)]
    return "\n".join(lines)


def menu_prompt(text: str | None, options: list[str]) -> str:
    """A menu's text without the numbered options the transcript appends to it (buttons and
    lists show the options themselves)."""
    listed = "\n".join(f"{number}. {label}" for number, label in enumerate(options, 1))
    if text and listed and text.endswith(listed):
        return text[: -len(listed)].rstrip("\n")
    return text or ""


def card_text(message: Outgoing) -> str:
    """The queue's carousel of cards as text: title, text and each button's link."""
    cards = (message.data or {}).get("cards") or []
    blocks = []
    for card in cards:
        lines = [str(card.get(key)) for key in ("title", "text") if card.get(key)]
        for button in card.get("buttons") or []:
            label, url = button.get("label") or button.get("title"), button.get("url")
            if url:
                lines.append(f"{label}: {url}" if label else str(url))
        blocks.append("\n".join(lines))
    return "\n\n".join(b for b in blocks if b) or (message.text or "")
