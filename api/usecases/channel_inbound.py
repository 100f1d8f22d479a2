"""A channel's webhook, once authenticated: customer messages delivered, statuses recorded.

Each inbound message becomes a customer message of the contact `<platform prefix>:<sender>`
through the same delivery use case as the HTTP channel, with the customer's channel in the
conversation's input (so the workflow delivers everything it says there). The platform's
message id is the deduplication key, but it becomes a Temporal Update id, which is not
encrypted, and WhatsApp's ids embed the phone number: the message id is its keyed hash.

Platform ids are stable, so a message this contact already had answered, in the open
conversation or an earlier one, is taken without effect, never delivered again: a platform's
late retry of the message that ended a conversation (Meta resends a webhook not answered 200 in
time; Telegram an Update) would otherwise start or feed the next conversation. The workflow only
knows the ids it answered itself, and `delivery.send` asks the SQL log only when no
conversation is open: here it is asked for every message, within the platforms' retry horizon
(store/answered.py; connectors only, the customer API's path stays as it is). Telegram's ids
are per Telegram bot, so its platform id names the bot (channels/telegram.py): a message from
the bot a connector was switched to is never taken for the old bot's. A retry of an Update
taken before ids named their bot is looked up under that earlier form as well (the earlier
lookup can go once every deployment has named the bot for longer than the retry horizon).
A menu button's press carries its menu's tag, which the workflow reads against the menu it
asks (workflows/menu_press.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from temporalio.client import Client

from api.models.channel import ContactIn, MessageIn, printable
from api.usecases import channel_media, delivery
from channels import telegram
from channels.model import Inbound, Platform, StatusUpdate
from encryption.codec import keyed_hash, ring_of
from store import channel_connectors
from store.answered import answered_lately
from transbordo.settings import Settings
from workflows.contracts import MAX_TEXT_LENGTH, ChannelRef

log = logging.getLogger(__name__)

CONTACT_PREFIX: dict[Platform, str] = {"whatsapp": "wa", "telegram": "tg"}


def contact_id(platform: Platform, sender: str) -> str:
    """Our contact id of a channel's customer (the SQL log shows it; Temporal its hash)."""
    return f"{CONTACT_PREFIX[platform]}:{sender}"


async def receive(
    client: Client,
    engine: Engine,
    settings: Settings,
    bot: str,
    platform: Platform,
    inbound: list[Inbound],
    statuses: list[StatusUpdate],
) -> int:
    """Deliver the messages in order and record the statuses; how many messages were taken."""
    ring = ring_of(client)
    for status in statuses:
        known = await asyncio.to_thread(
            channel_connectors.record_status,
            engine,
            bot,
            platform,
            status.platform_id,
            status.status,
            status.error,
        )
        if not known:
            log.info("%s status for a message not ours (%s)", platform, status.status)
    taken = 0
    for message in inbound:
        data = dict(message.data or {})
        contact = contact_id(platform, message.sender)
        message_id = f"{CONTACT_PREFIX[platform]}_{keyed_hash(ring, message.platform_id)}"
        older = telegram.earlier_id(message.platform_id) if platform == "telegram" else None
        earlier = f"{CONTACT_PREFIX[platform]}_{keyed_hash(ring, older)}" if older else None
        if await asyncio.to_thread(answered_lately, engine, bot, contact, message_id, earlier):
            log.info("%s message already answered: taken again without effect", platform)
            taken += 1
            continue
        click = message.click  # a menu button's press: the workflow reads it against its menu
        if click is not None and click.title:
            data["chosen"] = click.title  # the whole label (a list row's description)
        media = await channel_media.pending(engine, bot, platform, contact, message_id, data)
        try:
            body = MessageIn(
                contact_id=contact,
                message_id=message_id,
                text=printable(message.text[:MAX_TEXT_LENGTH]),
                contact=ContactIn(name=message.name[:200]) if message.name else None,  # cleaned
            )
            delivered = await delivery.send(
                client,
                engine,
                settings,
                bot,
                body,
                channel=ChannelRef(platform=platform, recipient=message.sender),
                data=data or None,
                menu=click.menu if click is not None else None,
            )
        except ValidationError as exc:
            log.warning("%s message to %s not delivered: %s", platform, bot, problems(exc))
            continue
        except (delivery.MessageRejected, delivery.UnknownBot) as exc:  # our words, not theirs
            if isinstance(exc, delivery.MessageRejected) and exc.retry_after is not None:
                raise  # the webhook's 503: the platform sends the batch again (each taken once)
            log.warning("%s message to %s not delivered: %s", platform, bot, exc)
            continue
        except ValueError as exc:
            log.warning("%s message to %s not delivered: %s", platform, bot, type(exc).__name__)
            continue
        if media is not None:
            conversation = delivered.turn.conversation_id
            await channel_media.fetch(client, engine, settings, media, conversation)
        taken += 1
    return taken


def problems(exc: ValidationError) -> list[tuple[Any, str]]:
    """Where and what was wrong, never the input (phone numbers, texts: customer data)."""
    return [(e["loc"], e["type"]) for e in exc.errors(include_input=False)][:5]
