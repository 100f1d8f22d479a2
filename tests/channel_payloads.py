"""Webhook bodies shaped as the platforms document them (Meta's "Webhooks payload examples" for
the WhatsApp Cloud API, Telegram's Update object), with concrete values filled in."""

from __future__ import annotations

from typing import Any

PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "5511987654321"


def whatsapp(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    name: str = "Maria Souza",
    sender: str = CUSTOMER,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": sender}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def wa_text(wamid: str, body: str, sender: str = CUSTOMER) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": "1749416383",
        "text": {"body": body},
        "type": "text",
    }


def wa_button_reply(wamid: str, reply_id: str, title: str) -> dict[str, Any]:
    return {
        "context": {"from": "15550783881", "id": "wamid.out2"},
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": "1750025136",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    }


def wa_list_reply(wamid: str, reply_id: str, title: str, sender: str = CUSTOMER) -> dict[str, Any]:
    return {
        "context": {"from": "15550783881", "id": "wamid.out2"},
        "from": sender,
        "id": wamid,
        "timestamp": "1750025136",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": reply_id, "title": title, "description": title},
        },
    }


def wa_image(wamid: str, caption: str | None) -> dict[str, Any]:
    image: dict[str, Any] = {
        "mime_type": "image/jpeg",
        "sha256": "SBCzF7Wh/0mC3aIUo0KfRyDkwjBLSFeqzJCoWzYXzVw=",
        "id": "1003383421387256",
    }
    if caption:
        image["caption"] = caption
    return {
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": "1744344496",
        "type": "image",
        "image": image,
    }


def wa_document(wamid: str) -> dict[str, Any]:
    return {
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": "1744344496",
        "type": "document",
        "document": {
            "filename": "boleto.pdf",
            "mime_type": "application/pdf",
            "sha256": "7vYc9RuD4cU8FUVu1d4lDpGfEB+UxWjUvN6jmydrDxU=",
            "id": "1073860347848530",
        },
    }


def wa_status(wamid: str, status: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": "1750263773",
        "recipient_id": CUSTOMER,
        "conversation": {"id": "7b4f9a1d3c2e", "origin": {"type": "service"}},
        "pricing": {"billable": False, "pricing_model": "PMP", "category": "service"},
    }
    if error:
        entry["errors"] = [error]
    return entry


def telegram_text(update_id: int, message_id: int, chat: int, text: str) -> dict[str, Any]:
    person = {
        "id": chat,
        "is_bot": False,
        "first_name": "João",
        "last_name": "Silva",
        "language_code": "pt-br",
    }
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": person,
            "chat": {"id": chat, "first_name": "João", "last_name": "Silva", "type": "private"},
            "date": 1441645532,
            "text": text,
        },
    }


def telegram_callback(
    update_id: int, chat: int, query_id: str, data: str, keyboard: list[list[dict[str, str]]]
) -> dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "João", "last_name": "Silva"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": person,
            "message": {
                "message_id": 7,
                "from": {"id": 1, "is_bot": True, "first_name": "Loja"},
                "chat": {"id": chat, "type": "private"},
                "date": 1441645600,
                "text": "Como posso ajudar?",
                "reply_markup": {"inline_keyboard": keyboard},
            },
            "chat_instance": "-1234567890",
            "data": data,
        },
    }
