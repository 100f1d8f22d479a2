"""WhatsApp Business Cloud API: the webhook payload as typed models, our messages as requests.

Payload shapes are those of Meta's "Webhooks payload examples" (messages, interactive replies,
media, statuses); requests go to `POST /{phone_number_id}/messages` with the access token.
Menus: up to 3 options as reply buttons (titles ≤ 20 characters), up to 10 as a list (rows
≤ 24, the full label as the row's description), more as numbered text; a button's or row's
id names its menu and option (channels/model.py `button_id`). Interactive bodies hold ≤ 1024
characters: a longer menu text goes first as text of its own.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.model import (
    Click,
    DeliveryStatus,
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
    numbered,
    read_button_id,
    unsupported,
)

log = logging.getLogger(__name__)

MAX_BUTTONS = 3
MAX_ROWS = 10
BUTTON_TITLE = 20
ROW_TITLE = 24
ROW_DESCRIPTION = 72
INTERACTIVE_BODY = 1024
LIST_BUTTON = "Opções"
MEDIA_KINDS = {"image": "imagem", "document": "documento", "audio": "áudio", "video": "vídeo"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


_M = TypeVar("_M", bound=_Model)


class Profile(_Model):
    name: str | None = None


class WaContact(_Model):
    wa_id: str
    profile: Profile = Field(default_factory=Profile)


class Text(_Model):
    body: str


class Reply(_Model):
    id: str
    title: str = ""
    description: str | None = None


class Interactive(_Model):
    type: str
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Button(_Model):
    text: str = ""
    payload: str | None = None


class Media(_Model):
    id: str
    mime_type: str | None = None
    caption: str | None = None
    filename: str | None = None
    sha256: str | None = None


class WaMessage(_Model):
    id: str
    from_: str = Field(alias="from")
    timestamp: str | None = None
    type: str
    text: Text | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    image: Media | None = None
    document: Media | None = None
    audio: Media | None = None
    video: Media | None = None


class WaError(_Model):
    code: int | None = None
    title: str | None = None
    message: str | None = None


STATUSES: dict[str, DeliveryStatus] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
}
"""The statuses we record; others ("deleted", or one Meta adds later) are skipped."""


class WaStatus(_Model):
    id: str
    status: str
    recipient_id: str | None = None
    errors: list[WaError] = Field(default_factory=list)


class Metadata(_Model):
    phone_number_id: str | None = None


class Value(_Model):
    """One change's value; its items are validated one by one (`_each`), so one that does not
    fit (a status or message kind Meta adds) does not drop the others."""

    messaging_product: str | None = None
    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)


class Change(_Model):
    field: str
    value: Value


class Entry(_Model):
    id: str
    changes: list[dict[str, Any]] = Field(default_factory=list)


class Webhook(_Model):
    object: str
    entry: list[Entry] = Field(default_factory=list)


def parse(
    payload: dict[str, Any], account_id: str | None = None
) -> tuple[list[Inbound], list[StatusUpdate]]:
    """The customer messages and delivery statuses of one webhook body (other fields ignored).

    One Meta app posts every number's changes to the same callback: with `account_id` (the
    connector's phone_number_id), a change for another number is dropped."""
    hook = Webhook.model_validate(payload)
    inbound: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for change in _each(Change, [c for e in hook.entry for c in e.changes]):
        if change.field != "messages":
            continue
        value = change.value
        if account_id is not None and value.metadata.phone_number_id != account_id:
            log.warning("whatsapp change for another phone_number_id dropped")
            continue
        names = {c.wa_id: c.profile.name for c in _each(WaContact, value.contacts)}
        for message in _each(WaMessage, value.messages):
            text, data = _said(message)
            inbound.append(
                Inbound(
                    platform_id=message.id,
                    sender=message.from_,
                    text=text,
                    name=names.get(message.from_),
                    data={**data, "ack": {"message_id": message.id}},
                    click=_click(message),
                )
            )
        for status in _each(WaStatus, value.statuses):
            if status.status in STATUSES:
                error = (
                    "; ".join(f"{e.code}: {e.title or e.message}" for e in status.errors) or None
                )
                statuses.append(StatusUpdate(status.id, STATUSES[status.status], error))
    return inbound, statuses


def _each(model: type[_M], raws: list[dict[str, Any]]) -> list[_M]:
    """The items that fit `model`; the others are skipped (logged without their values)."""
    valid: list[_M] = []
    for raw in raws:
        try:
            valid.append(model.model_validate(raw))
        except ValidationError as exc:
            problems = [(e["loc"], e["type"]) for e in exc.errors(include_input=False)]
            log.warning("whatsapp %s skipped: %s", model.__name__, problems[:5])
    return valid


def _said(message: WaMessage) -> tuple[str, dict[str, Any]]:
    """(the text the flow reads, what the agent sees besides); a kind we do not read (location,
    sticker, contacts, reaction...) still tells the agent something came."""
    if message.text is not None:
        return message.text.body, {}
    if message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply is not None:
            return read_button_id(reply.id)[0], clip_data({"chosen": reply.title})
    if message.button is not None:
        chosen = clip_data({"chosen": message.button.text})
        return message.button.payload or message.button.text, chosen
    media = getattr(message, message.type, None) if message.type in MEDIA_KINDS else None
    if isinstance(media, Media):
        label = MEDIA_KINDS[message.type]
        text = f"[{label}] {media.caption}" if media.caption else f"[{label}]"
        info = {"type": message.type, "id": media.id, "mime_type": media.mime_type}
        if media.filename:
            info["filename"] = media.filename
        return text, {"media": clip_data(info)}
    return unsupported(message.type)


def _click(message: WaMessage) -> Click | None:
    """A press of a button or list row whose id names its menu; its label is the row's
    description where the title was cut (a long label), else the title."""
    interactive = message.interactive
    reply = (interactive.button_reply or interactive.list_reply) if interactive else None
    if reply is None:
        return None
    _, menu = read_button_id(reply.id)
    return Click(menu, reply.description or reply.title or None) if menu else None


def _envelope(recipient: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": kind,
        kind: content,
    }


def text_requests(recipient: str, text: str) -> list[Request]:
    return [
        Request("messages", _envelope(recipient, "text", {"preview_url": False, "body": piece}))
        for piece in chunks(text)
    ]


def menu_requests(recipient: str, text: str | None, options: list[str]) -> list[Request]:
    """Reply buttons (≤ 3), a list (≤ 10), else numbered text; ids name menu and option."""
    if len(options) > MAX_ROWS or not options:
        return text_requests(recipient, numbered(text, options))
    first: list[Request] = []
    body = menu_prompt(text, options) or "Escolha uma opção:"
    if len(body) > INTERACTIVE_BODY:
        first, body = text_requests(recipient, body), "Escolha uma opção:"
    if len(options) <= MAX_BUTTONS and all(len(o) <= BUTTON_TITLE for o in options):
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": button_id(text, options, n), "title": label}}
                for n, label in enumerate(options, 1)
            ]
        }
        kind = "button"
    else:
        rows = [
            {
                "id": button_id(text, options, n),
                "title": clip(label, ROW_TITLE),
                **({"description": clip(label, ROW_DESCRIPTION)} if len(label) > ROW_TITLE else {}),
            }
            for n, label in enumerate(options, 1)
        ]
        action = {"button": LIST_BUTTON, "sections": [{"title": "Opções", "rows": rows}]}
        kind = "list"
    interactive = {"type": kind, "body": {"text": body}, "action": action}
    return [*first, Request("messages", _envelope(recipient, "interactive", interactive))]


def template_request(recipient: str, name: str, language: str) -> Request:
    """An approved template: the only message allowed outside the 24-hour window."""
    return Request(
        "messages",
        _envelope(recipient, "template", {"name": name, "language": {"code": language}}),
    )


class WhatsApp:
    """The WhatsApp connector (channels/model.Connector)."""

    def parse(
        self, payload: dict[str, Any], account_id: str | None = None
    ) -> tuple[list[Inbound], list[StatusUpdate]]:
        return parse(payload, account_id)

    def render(self, recipient: str, message: Outgoing) -> list[Request]:
        if message.kind == "menu" and message.options:
            return menu_requests(recipient, message.text, message.options)
        if message.kind == "card":
            return text_requests(recipient, card_text(message))
        return text_requests(recipient, message.text or "") if message.text else []

    def ack(self, recipient: str, data: dict[str, Any]) -> list[Request]:
        """Mark the customer's message read (shows the blue ticks) as we answer it."""
        message_id = data.get("message_id")
        if not message_id:
            return []
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        return [Request("messages", body)]
