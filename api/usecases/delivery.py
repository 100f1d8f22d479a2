"""Delivering customer messages to conversation workflows (the channel's one hard job).

The fast path is update-with-start: the reply comes back in the HTTP response. When no worker
answers in time, the message is handed over as a Signal-with-start instead, which the server
stores durably, so it is processed as soon as a worker is back: accepted (202), nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.models.channel import MessageIn, TurnPublic, public_message, public_row
from api.usecases import durable_accept, log_ahead, open_conversations
from encryption.codec import KeyRing, keyed_hash, ring_of
from store import bots as bot_store
from store import conversations as conversation_log
from store.bots import BotVersion
from store.conversations import ConversationRow, MessageRow, NewConversation
from transbordo.settings import Settings
from workflows.contracts import ChannelRef, Contact, ConversationInput, CustomerMessage, TurnReply
from workflows.conversation import ConversationWorkflow
from workflows.patches import CODE_VERSION
from workflows.refusals import Refusal, refusal_of
from workflows.search_attributes import BOT, CONTACT, STATUS

log = logging.getLogger(__name__)
ENDING_RETRY = 5
"""Seconds after which a message refused by a conversation still closing is taken (its last
deliveries to the customer's channel may take longer: then it is refused again)."""


class _NoWorker(Exception):
    """No worker answered in time."""


class UnknownBot(Exception):
    """No published bot by that name."""


class MessageRejected(Exception):
    """The conversation refused the message (bad input); the text says why. `retry_after`:
    not refused for good, the same message is taken that many seconds on (a conversation that
    is ending: the next one starts once it has closed)."""

    def __init__(self, reason: str, *, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Delivery:
    turn: TurnPublic
    accepted_only: bool
    """True when no worker answered in time: the message is stored, the replies come later."""


def workflow_id(ring: KeyRing, bot: str, contact_id: str) -> str:
    """The conversation's workflow id: Temporal indexes it in clear, so it carries a keyed
    hash of the contact id, never the id (encryption/codec.py). Conversations started before
    keep their old id: they are reached through their SQL row's `workflow_id`."""
    return f"conversation:{bot}:{keyed_hash(ring, contact_id)}"


async def send(
    client: Client,
    engine: Engine,
    settings: Settings,
    bot: str,
    body: MessageIn,
    *,
    channel: ChannelRef | None = None,
    data: dict[str, Any] | None = None,
    menu: str | None = None,
    use_hint: bool = True,
) -> Delivery:
    """Deliver one customer message, starting the conversation if none is open. A channel
    connector (api/usecases/channel_inbound.py) names the customer's `channel`, which a new
    conversation delivers everything to, the entry's `data` (media, ack) and a button's `menu`."""
    contact_id = _contact_id(body)
    hint = open_conversations.get(engine, bot, contact_id) if use_hint else None
    known = _Known(open_wid=hint) if hint else await asyncio.to_thread(_known, engine, bot, body)
    if known.recorded is not None:
        conversation, replies = known.recorded
        return Delivery(_turn(conversation.id, conversation.status, replies), accepted_only=False)
    open_wid = known.open_wid
    message = CustomerMessage(
        message_id=body.message_id,
        text=body.text,
        contact=_contact(body),
        data=data,
        menu=menu,
        log_ahead=True,  # written by _delivered (api/usecases/log_ahead.py)
    )
    no_worker = False
    if open_wid is not None:
        delivered, no_worker = await _open_path(client, engine, settings, open_wid, message)
        if delivered is not None:
            open_conversations.remember(engine, bot, contact_id, open_wid, delivered.turn.status)
            return delivered
        if not no_worker and hint is not None:  # the hint was stale: ask SQL, as without it
            open_conversations.forget(engine, bot, contact_id)
            return await send(
                client,
                engine,
                settings,
                bot,
                body,
                channel=channel,
                data=data,
                menu=menu,
                use_hint=False,
            )
    ring = ring_of(client)  # not before: the open path needs neither the ring nor a new id
    wid = workflow_id(ring, bot, contact_id)
    if no_worker and open_wid is not None:  # handed over by signal to the conversation that is open
        wid = open_wid
    contact = message.contact
    assert contact is not None
    version = known.version or await asyncio.to_thread(bot_store.latest, engine, bot)
    start_input = _start_input(settings, bot, version, contact, channel)
    start_options = _start_options(settings, wid, start_input, keyed_hash(ring, contact.id))
    if no_worker:
        return await _accept_durably(client, start_input, message, start_options, engine)
    for attempt in range(2):
        operation = WithStartWorkflowOperation(
            ConversationWorkflow.run, start_input, **start_options
        )
        try:
            reply = await _answered(
                client,
                wid,
                client.execute_update_with_start_workflow(
                    ConversationWorkflow.message,
                    message,
                    start_workflow_operation=operation,
                    id=body.message_id,
                ),
                settings,
            )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            return await _accept_durably(client, start_input, message, start_options, engine)
        except WorkflowUpdateFailedError as exc:
            reason = getattr(exc.cause, "message", str(exc.cause))
            ending = refusal_of(exc.cause) is Refusal.CONVERSATION_ENDED
            if ending and attempt == 0:
                await _wait_closed(client, wid)
                continue
            raise MessageRejected(reason, retry_after=ENDING_RETRY if ending else None) from exc
        new = None
        if reply.started:  # written in the same transaction as the turn
            new = NewConversation(
                conversation_id=reply.conversation_id,
                workflow_id=wid,
                bot=bot,
                bot_version=reply.bot_version,
                contact_id=_contact_id(body),
                status=reply.status,
            )
        delivered = await _delivered(client, engine, wid, reply, new=new)
        open_conversations.remember(engine, bot, contact_id, wid, reply.status)
        return delivered
    raise MessageRejected("the conversation is ending; send it again", retry_after=ENDING_RETRY)


async def _answered(
    client: Client, wid: str, update: Awaitable[TurnReply], settings: Settings
) -> TurnReply:
    """The Update's answer within the reply timeout. A request that dies meanwhile tells the
    workflow that nobody writes what it may have answered (api/usecases/log_ahead.py), and stays
    cancelled: the SDK turns a cancelled Update call into WorkflowUpdateRPCTimeoutOrCancelledError,
    which callers take for "no worker answered", hence the check of this task's cancellation.
    The Update is awaited in this task (`asyncio.timeout`: 3.11's `wait_for` ran it in a task of
    its own, one more task per message); its timeout comes back as that error, or TimeoutError."""
    try:
        async with asyncio.timeout(settings.reply_timeout_seconds):
            return await update
    except asyncio.CancelledError:
        log_ahead.report_missed_write(client, wid)
        raise
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        task = asyncio.current_task()
        if task is None or not task.cancelling():
            raise  # the server's own timeout: no worker answered
        log_ahead.report_missed_write(client, wid)
        raise asyncio.CancelledError from None


def _start_input(
    settings: Settings,
    bot: str,
    version: BotVersion | None,
    contact: Contact,
    channel: ChannelRef | None,
) -> ConversationInput:
    """A new conversation's input, on the bot's newest `version`; UnknownBot without one."""
    if version is None:
        raise UnknownBot(bot)
    return ConversationInput(
        conversation_id=uuid.uuid4().hex,
        bot=bot,
        bot_version=version.version,
        flow=version.flow,
        contact=contact,
        max_updates_per_run=settings.max_messages_per_run,
        unengaged_idle_seconds=settings.unengaged_idle_seconds,
        record_delay_ms=round(settings.record_delay_seconds * 1000),
        channel=channel,
        code_version=CODE_VERSION,  # no patch markers (deploy workers before the API)
    )


def _start_options(
    settings: Settings, wid: str, start: ConversationInput, contact_hash: str
) -> dict[str, Any]:
    """How a conversation workflow starts: id, queue, search attributes and summary for ops.
    What Temporal shows or indexes names the contact by its keyed hash only."""
    return {
        "id": wid,
        "task_queue": settings.task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "search_attributes": TypedSearchAttributes(
            [
                SearchAttributePair(BOT, start.bot),
                SearchAttributePair(CONTACT, contact_hash),
                SearchAttributePair(STATUS, "bot"),
            ]
        ),
        "static_summary": (
            f"Conversation with contact {contact_hash} on bot {start.bot} v{start.bot_version}"
        ),
    }


async def _delivered(
    client: Client,
    engine: Engine,
    wid: str,
    reply: TurnReply,
    *,
    new: NewConversation | None = None,
) -> Delivery:
    """The answer, once the turn is in the SQL log: read-your-writes for `GET .../messages`
    and the streams (api/usecases/log_ahead.py). A new conversation's row (`new`) is written
    first, in the same transaction."""
    await log_ahead.write_ahead(
        client, engine, wid, reply.conversation_id, reply.entries(), reply.log, new=new
    )
    turn = TurnPublic(
        conversation_id=reply.conversation_id,
        status=reply.status,
        replies=[public_message(m) for m in reply.replies],
    )
    return Delivery(turn, accepted_only=False)


def _contact_id(body: MessageIn) -> str:
    """The contact the channel route settled on (a connector's, or the web session's)."""
    if body.contact_id is None:
        raise ValueError("the channel route sets contact_id before delivery")
    return body.contact_id


def _contact(body: MessageIn) -> Contact:
    return Contact(
        id=_contact_id(body),
        name=body.contact.name if body.contact else None,
        extra=body.contact.model_extra or {} if body.contact else {},
    )


@dataclass(frozen=True)
class _Known:
    """What SQL says before a message's Update, read in one thread hop: at most one is set."""

    open_wid: str | None = None
    """The workflow id of the contact's open conversation."""
    recorded: tuple[ConversationRow, list[MessageRow]] | None = None
    """The recorded answer to this message_id (a replay after the conversation ended)."""
    version: BotVersion | None = None
    """The bot's newest version, for the conversation this message starts."""


def _known(engine: Engine, bot: str, body: MessageIn) -> _Known:
    """An open conversation deduplicates message ids itself (the workflow remembers them), so
    the SQL log is searched for a replay only when none is open, and only when the contact has
    had a conversation at all (a first contact's message cannot have been answered)."""
    contact_id = _contact_id(body)
    latest, newest = conversation_log.latest_with_newest_version(engine, bot, contact_id)
    if latest is not None and latest.status != "ended":
        return _Known(open_wid=latest.workflow_id)
    if latest is not None:
        recorded = conversation_log.answer_of(engine, bot, contact_id, body.message_id)
        if recorded is not None:
            return _Known(recorded=recorded)
    version = bot_store.version_of(engine, bot, *newest) if newest else None
    if version is None:
        raise UnknownBot(bot)
    return _Known(version=version)


async def _open_path(
    client: Client, engine: Engine, settings: Settings, wid: str, message: CustomerMessage
) -> tuple[Delivery | None, bool]:
    """(the delivery, or None when the conversation has ended; whether no worker answered)."""
    try:
        return await _to_open_conversation(client, engine, settings, wid, message), False
    except _NoWorker:
        return None, True


async def _to_open_conversation(
    client: Client, engine: Engine, settings: Settings, wid: str, message: CustomerMessage
) -> Delivery | None:
    """The fast path for an open conversation: a plain Update (no flow in the payload).
    None when the conversation turns out to have ended: the caller starts a new one."""
    handle = client.get_workflow_handle(wid)
    try:
        reply = await _answered(
            client,
            wid,
            handle.execute_update(ConversationWorkflow.message, message, id=message.message_id),
            settings,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise _NoWorker from exc
    except RPCError:
        return None  # the workflow has closed
    except WorkflowUpdateFailedError as exc:
        reason = getattr(exc.cause, "message", str(exc.cause))
        if refusal_of(exc.cause) is Refusal.CONVERSATION_ENDED:
            await _wait_closed(client, wid)
            return None
        raise MessageRejected(reason) from exc
    return await _delivered(client, engine, wid, reply)


async def leave(client: Client, workflow_id_: str) -> None:
    try:
        await client.get_workflow_handle(workflow_id_).signal(ConversationWorkflow.leave)
    except RPCError as exc:  # already closed: leaving twice is harmless; else the app's 503
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        log.info("leave on closed conversation %s: %s", workflow_id_, exc.message)


async def _accept_durably(
    client: Client, start: ConversationInput, message: CustomerMessage, options: Any, engine: Engine
) -> Delivery:
    turn = await durable_accept.by_signal(client, start, message, options, engine)
    return Delivery(turn, accepted_only=True)


async def _wait_closed(client: Client, wid: str) -> None:
    """Let a conversation that is finishing close, so the next message starts a new one."""
    with contextlib.suppress(Exception):  # any end state will do
        await asyncio.wait_for(client.get_workflow_handle(wid).result(), timeout=10)


def _turn(conversation_id: str, status: str, rows: list[MessageRow]) -> TurnPublic:
    return TurnPublic(
        conversation_id=conversation_id, status=status, replies=[public_row(r) for r in rows]
    )
