"""Telegram Bot API: the Update payload as typed models, our messages as Bot API requests.

Menus are inline keyboards (one button per row, callback data names the menu and the option:
channels/model.py `button_id`); a button press is a callback query, answered
(`answerCallbackQuery`) as we reply. Only private
chats are customers: an Update from a group, supergroup or channel is ignored. Requests go to
`POST /bot<token>/<method>`.

Message ids are per Telegram bot (another bot starts again from low numbers), so a message's
platform id names the bot: `bot<bot id>/<chat>:<message id>` (`bot<bot id>/cb:<query id>` for a
button press). The bot id is the connector's `account_id` (the token's part before `:`), which
a rotated token of the same bot keeps. `earlier_id` is the form used before ids named their bot.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from channels.model import (
    Click,
    Inbound,
    Outgoing,
    Request,
    StatusUpdate,
    button_id,
    card_text,
    chunks,
    clip,
    clip_data,
    menu_prompt,
    read_button_id,
    unsupported,
)

log = logging.getLogger(__name__)

BUTTON_TEXT = 64
MAX_KEYBOARD_BUTTONS = 100
BOT_SCOPE = "bot"
"""How a platform id names its bot: `bot<bot id>/…` (`scoped_id`)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class User(_Model):
    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class Chat(_Model):
    id: int
    type: str = "private"


class PhotoSize(_Model):
    file_id: str


class Document(_Model):
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None


UNSUPPORTED_KINDS = (
    "video",
    "video_note",
    "sticker",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)
"""Message kinds we do not read; each still tells the agent something came."""


class TgMessage(_Model):
    model_config = ConfigDict(extra="allow")  # the kinds above are read from the extras

    message_id: int
    chat: Chat
    from_: User | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    photo: list[PhotoSize] | None = None
    document: Document | None = None
    voice: Document | None = None
    audio: Document | None = None
    reply_markup: dict[str, Any] | None = None


class CallbackQuery(_Model):
    id: str
    from_: User = Field(alias="from")
    message: TgMessage | None = None
    data: str | None = None


class Update(_Model):
    update_id: int
    message: TgMessage | None = None
    callback_query: CallbackQuery | None = None


def scoped_id(bot_id: str | None, local: str) -> str:
    """The id of a message of the chat (`<chat>:<message id>`, `cb:<query id>`) as our key:
    scoped to the Telegram bot that received it (unscoped only with no bot id known)."""
    return f"{BOT_SCOPE}{bot_id}/{local}" if bot_id else local


def earlier_id(scoped: str) -> str | None:
    """The id the same message had before ids named their bot (`<chat>:<message id>`), or
    None for an id without a bot: what a retry of an Update taken before then was logged by."""
    scope, slash, local = scoped.partition("/")
    return local if slash and scope.startswith(BOT_SCOPE) else None


def parse(
    payload: dict[str, Any], bot_id: str | None = None
) -> tuple[list[Inbound], list[StatusUpdate]]:
    """The customer message of one Update to the bot `bot_id` (Telegram reports no delivery
    statuses)."""
    update = Update.model_validate(payload)
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is None or query.data is None:
            return [], []
        if query.message.chat.type != "private":
            log.info("telegram callback from a %s chat ignored", query.message.chat.type)
            return [], []
        chat = str(query.message.chat.id)
        chosen = _label_of(query.message, query.data)
        text, menu = read_button_id(query.data)
        return [
            Inbound(
                platform_id=scoped_id(bot_id, f"cb:{query.id}"),
                sender=chat,
                text=text,
                name=query.from_.full_name or None,
                data={
                    "ack": {"callback_query_id": query.id},
                    **(clip_data({"chosen": chosen}) if chosen else {}),
                },
                click=Click(menu, chosen) if menu else None,
            )
        ], []
    message = update.message
    if message is None:
        return [], []
    if message.chat.type != "private":
        log.info("telegram message from a %s chat ignored", message.chat.type)
        return [], []
    said = _said(message)
    if said is None:
        return [], []
    text, data = said
    return [
        Inbound(
            platform_id=scoped_id(bot_id, f"{message.chat.id}:{message.message_id}"),
            sender=str(message.chat.id),
            text=text,
            name=message.from_.full_name if message.from_ else None,
            data={**data, "ack": {"typing": True}},
        )
    ], []


def _said(message: TgMessage) -> tuple[str, dict[str, Any]] | None:
    if message.text is not None:
        return message.text, {}
    media: dict[str, Any] | None = None
    label = ""
    if message.photo:
        media, label = {"type": "image", "id": message.photo[-1].file_id}, "imagem"
    elif message.document is not None:
        media = {"type": "document", "id": message.document.file_id}
        if message.document.file_name:
            media["filename"] = message.document.file_name
        label = "documento"
    elif message.voice is not None or message.audio is not None:
        sound = message.voice or message.audio
        assert sound is not None
        media, label = {"type": "audio", "id": sound.file_id}, "áudio"
    if media is None:
        extras = message.model_extra or {}
        kind = next((k for k in UNSUPPORTED_KINDS if k in extras), None)
        return unsupported(kind) if kind else None
    text = f"[{label}] {message.caption}" if message.caption else f"[{label}]"
    return text, {"media": clip_data(media)}


def _label_of(message: TgMessage, data: str) -> str | None:
    """The label of the pressed button, from the keyboard of the message we sent."""
    for row in (message.reply_markup or {}).get("inline_keyboard") or []:
        for button in row:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text"))
    return None


class Telegram:
    """The Telegram connector (channels/model.Connector)."""

    def parse(
        self, payload: dict[str, Any], account_id: str | None = None
    ) -> tuple[list[Inbound], list[StatusUpdate]]:
        """`account_id` is the connector's Telegram bot id: it scopes the message ids."""
        return parse(payload, account_id)

    def render(self, recipient: str, message: Outgoing) -> list[Request]:
        chat = int(recipient) if recipient.lstrip("-").isdigit() else recipient
        if message.kind == "menu" and message.options:
            pieces = chunks(menu_prompt(message.text, message.options) or "Escolha uma opção:")
            options = message.options
            keyboard = [
                [
                    {
                        "text": clip(label, BUTTON_TEXT),
                        "callback_data": button_id(message.text, options, n),
                    }
                ]
                for n, label in enumerate(message.options[:MAX_KEYBOARD_BUTTONS], 1)
            ]
            requests = [_send(chat, piece) for piece in pieces]
            requests[-1].body["reply_markup"] = {"inline_keyboard": keyboard}
            return requests
        text = card_text(message) if message.kind == "card" else message.text
        return [_send(chat, piece) for piece in chunks(text)] if text else []

    def ack(self, recipient: str, data: dict[str, Any]) -> list[Request]:
        """Answer a button press (stops its spinner); show "typing…" while we answer."""
        if data.get("callback_query_id"):
            return [
                Request("answerCallbackQuery", {"callback_query_id": data["callback_query_id"]})
            ]
        chat = int(recipient) if recipient.lstrip("-").isdigit() else recipient
        return [Request("sendChatAction", {"chat_id": chat, "action": "typing"})]


def _send(chat: int | str, text: str) -> Request:
    return Request("sendMessage", {"chat_id": chat, "text": text})
