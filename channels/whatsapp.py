"""WhatsApp Business Cloud API: the webhook payload as typed models, our messages as requests.

Payload shapes are those of Meta's "Webhooks payload examples" (messages, interactive replies,
media, statuses); requests go to `POST /{phone_number_id}/messages` with the access token.
Menus: up to 3 options as reply buttons (titles ≤ 20 characters), up to 10 as a list (rows
≤ 24, the full label as the row's description), more as numbered text. Interactive bodies
hold ≤ 1024 characters: a longer menu text goes first as text of its own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from channels.model import (
    Inbound,
    Outgoing,
    Request,
    StatusUpdate,
    card_text,
    chunks,
    clip,
    menu_prompt,
    numbered,
)

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


class WaStatus(_Model):
    id: str
    status: Literal["sent", "delivered", "read", "failed", "deleted"]
    recipient_id: str | None = None
    errors: list[WaError] = Field(default_factory=list)


class Value(_Model):
    messaging_product: str | None = None
    contacts: list[WaContact] = Field(default_factory=list)
    messages: list[WaMessage] = Field(default_factory=list)
    statuses: list[WaStatus] = Field(default_factory=list)


class Change(_Model):
    field: str
    value: Value


class Entry(_Model):
    id: str
    changes: list[Change] = Field(default_factory=list)


class Webhook(_Model):
    object: str
    entry: list[Entry] = Field(default_factory=list)


def parse(payload: dict[str, Any]) -> tuple[list[Inbound], list[StatusUpdate]]:
    """The customer messages and delivery statuses of one webhook body (other fields ignored)."""
    hook = Webhook.model_validate(payload)
    inbound: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for change in (c for e in hook.entry for c in e.changes if c.field == "messages"):
        names = {c.wa_id: c.profile.name for c in change.value.contacts}
        for message in change.value.messages:
            said = _said(message)
            if said is not None:
                text, data = said
                inbound.append(
                    Inbound(
                        platform_id=message.id,
                        sender=message.from_,
                        text=text,
                        name=names.get(message.from_),
                        data={**data, "ack": {"message_id": message.id}},
                    )
                )
        for status in change.value.statuses:
            if status.status != "deleted":
                error = (
                    "; ".join(f"{e.code}: {e.title or e.message}" for e in status.errors) or None
                )
                statuses.append(StatusUpdate(status.id, status.status, error))
    return inbound, statuses


def _said(message: WaMessage) -> tuple[str, dict[str, Any]] | None:
    """(the text the flow reads, what the agent sees besides), or None for unsupported kinds."""
    if message.text is not None:
        return message.text.body, {}
    if message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply is not None:
            return reply.id, {"chosen": reply.title}
    if message.button is not None:
        return message.button.payload or message.button.text, {"chosen": message.button.text}
    media = getattr(message, message.type, None) if message.type in MEDIA_KINDS else None
    if isinstance(media, Media):
        label = MEDIA_KINDS[message.type]
        text = f"[{label}] {media.caption}" if media.caption else f"[{label}]"
        info = {"type": message.type, "id": media.id, "mime_type": media.mime_type}
        if media.filename:
            info["filename"] = media.filename
        return text, {"media": info}
    return None


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
    """Reply buttons (≤ 3), a list (≤ 10), else numbered text; ids are option numbers."""
    if len(options) > MAX_ROWS or not options:
        return text_requests(recipient, numbered(text, options))
    first: list[Request] = []
    body = menu_prompt(text, options) or "Escolha uma opção:"
    if len(body) > INTERACTIVE_BODY:
        first, body = text_requests(recipient, body), "Escolha uma opção:"
    if len(options) <= MAX_BUTTONS and all(len(o) <= BUTTON_TITLE for o in options):
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": str(n), "title": label}}
                for n, label in enumerate(options, 1)
            ]
        }
        kind = "button"
    else:
        rows = [
            {
                "id": str(n),
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

    def parse(self, payload: dict[str, Any]) -> tuple[list[Inbound], list[StatusUpdate]]:
        return parse(payload)

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
