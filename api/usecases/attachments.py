"""Attachments: a file checked (its real type by its first bytes, its size), stored, and said in
the conversation as a transcript entry with `data["attachment"] = {id, name, type, size}`.

A customer's file (web chat, connector) is a customer message delivered like any other
(api/usecases/delivery.py); an agent's is the Update `agent_attachment`
(workflows/attachments.py). Who may download one: the customer of its conversation (a web
session of its contact, a connector of its bot), the agents of its service, the admin
(api/routes/attachments.py). The bytes go to the file store first, then the row, then the
message: a failed delivery leaves an unreferenced file, never an entry without its file.
"""

from __future__ import annotations

import asyncio

from fastapi import status
from sqlalchemy import Engine
from temporalio.client import Client

from api.errors import ApiError, ErrorCode
from api.models.channel import MessageIn
from api.usecases import agent_actions as actions
from api.usecases import delivery
from omni.attachments import AttachmentRef, clean_name, refusal, sniff
from omni.models import AgentPublic
from store import attachments as attachment_rows
from store import conversations as conversation_log
from store.attachment_files import FileStore
from store.attachments import Attachment
from transbordo.settings import Settings
from workflows.attachments import AgentAttachment, attachment_text
from workflows.contracts import Message
from workflows.refusals import Refusal

REFUSAL_STATUS = {
    "attachment_type": (status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, ErrorCode.ATTACHMENT_TYPE),
    "attachment_too_large": (
        status.HTTP_413_CONTENT_TOO_LARGE,
        ErrorCode.ATTACHMENT_TOO_LARGE,
    ),
    "attachment_empty": (status.HTTP_422_UNPROCESSABLE_CONTENT, ErrorCode.ATTACHMENT_EMPTY),
}


def checked_type(settings: Settings, content: bytes) -> str:
    """The file's real content type; a coded 4xx when it may not be sent (a 413 says the limit
    in `max_bytes`, which the screens show in pt-BR)."""
    limits = settings.attachment_limits()
    refused = refusal(content, limits)
    if refused is not None:
        code, reason = refused
        http_status, error_code = REFUSAL_STATUS[code]
        extra = {"max_bytes": limits.max_bytes} if code == "attachment_too_large" else None
        raise ApiError(http_status, reason, error_code, extra=extra)
    found = sniff(content[:64])
    assert found is not None
    return found


async def keep(
    engine: Engine,
    files: FileStore,
    settings: Settings,
    *,
    bot: str,
    contact_id: str,
    name: str | None,
    content: bytes,
    source: str,
    conversation_id: str | None = None,
) -> AttachmentRef:
    """Check and store one file; its reference for the transcript."""
    content_type = checked_type(settings, content)
    row_id = attachment_rows.new_attachment_id()
    clean = clean_name(name, content_type)
    await asyncio.to_thread(files.put, row_id, content, content_type)
    await asyncio.to_thread(
        attachment_rows.add,
        engine,
        id=row_id,
        bot=bot,
        contact_id=contact_id,
        name=clean,
        content_type=content_type,
        size=len(content),
        source=source,
        conversation_id=conversation_id,
    )
    return AttachmentRef(id=row_id, name=clean, type=content_type, size=len(content))


async def from_customer(
    client: Client,
    engine: Engine,
    files: FileStore,
    settings: Settings,
    bot: str,
    contact_id: str,
    message_id: str | None,
    name: str | None,
    content: bytes,
) -> delivery.Delivery:
    """A customer's file, stored and delivered as the customer's message."""
    ref = await keep(
        engine,
        files,
        settings,
        bot=bot,
        contact_id=contact_id,
        name=name,
        content=content,
        source="customer",
    )
    body = MessageIn(
        contact_id=contact_id,
        message_id=message_id or ref.id,
        text=attachment_text(ref.name),
    )
    delivered = await delivery.send(
        client, engine, settings, bot, body, data={"attachment": ref.model_dump()}
    )
    conversation_id = delivered.turn.conversation_id
    if conversation_id is not None:  # None: accepted without a worker's answer (202)
        await asyncio.to_thread(attachment_rows.belongs_to, engine, ref.id, conversation_id)
    return delivered


async def from_agent(
    client: Client,
    engine: Engine,
    files: FileStore,
    settings: Settings,
    agent: AgentPublic,
    conversation_id: str,
    name: str | None,
    content: bytes,
) -> Message:
    """An agent's file to the customer of a conversation the agent has."""
    entry = await asyncio.to_thread(actions.conversation_for, engine, agent, conversation_id)
    if entry.agent_id != agent.id:
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "you do not have this conversation",
            Refusal.NOT_YOUR_CONVERSATION,
        )
    row = await asyncio.to_thread(conversation_log.get_conversation, engine, conversation_id)
    assert row is not None
    ref = await keep(
        engine,
        files,
        settings,
        bot=row.bot,
        contact_id=row.contact_id,
        name=name,
        content=content,
        source="agent",
        conversation_id=conversation_id,
    )
    request = AgentAttachment(agent_id=agent.id, attachment=ref)
    message: Message = await actions.update(client, entry.workflow_id, "agent_attachment", request)
    return message


def readable(row: Attachment | None) -> Attachment:
    """The row, when its bytes can be read (404 if none; 409 `attachment_pending` while a
    channel's media comes, `attachment_unavailable` if it could not be fetched)."""
    if row is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, "no such attachment", ErrorCode.NOT_FOUND)
    if row.status == "pending":
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "the file is still being fetched from the channel",
            ErrorCode.ATTACHMENT_PENDING,
        )
    if row.status != "ready":
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "the file could not be fetched from the channel",
            ErrorCode.ATTACHMENT_UNAVAILABLE,
        )
    return row
