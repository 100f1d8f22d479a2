"""Attachments: upload (customer, agent) and download (the conversation's customer, the agents
of its service, the admin). The body is the file itself (any declared Content-Type; the first
bytes decide, api/usecases/attachments.py); `?name=` is its file name."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from api import limits
from api.channel_auth import (
    ChannelClientDep,
    contact_for_message,
    may_touch,
    refuse_closed_web_chat,
)
from api.deps import AgentDep, ClientDep, EngineDep, FilesDep, SettingsDep, require_agent
from api.errors import ApiError, ErrorCode
from api.limits import limit
from api.models.channel import NO_CONTROL, MessagePublic, TurnPublic, public_message
from api.usecases import attachments
from omni.models import AgentPublic
from store import attachments as attachment_rows
from store import conversations as conversation_log
from store.attachment_files import FileStore
from store.attachments import Attachment
from workflows.contracts import MAX_MESSAGE_ID_LENGTH

channel = APIRouter(tags=["attachments"], dependencies=[limit("requests per address")])
agent = APIRouter(prefix="/agent", tags=["attachments"], dependencies=[Depends(require_agent)])

FileName = Annotated[str | None, Query(max_length=200, pattern=NO_CONTROL)]


def not_found() -> ApiError:
    """404 for an attachment: a new exception per raise (see api/deps.py `unauthorized`)."""
    return ApiError(status.HTTP_404_NOT_FOUND, "no such attachment", ErrorCode.NOT_FOUND)


@channel.post(
    "/bots/{bot}/attachments",
    response_model=TurnPublic,
    dependencies=[limit("messages per address")],
)
async def customer_upload(
    bot: str,
    request: Request,
    response: Response,
    caller: ChannelClientDep,
    client: ClientDep,
    engine: EngineDep,
    files: FilesDep,
    settings: SettingsDep,
    name: FileName = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    message_id: Annotated[
        str | None, Query(min_length=1, max_length=MAX_MESSAGE_ID_LENGTH, pattern=NO_CONTROL)
    ] = None,
) -> TurnPublic:
    """A customer's file (image, PDF, audio), said in the conversation like a message."""
    contact = contact_for_message(caller, bot, contact_id, given_in="query")
    if caller.kind == "web":
        await asyncio.to_thread(refuse_closed_web_chat, engine, caller, bot)
    await limits.hit(request, "messages per contact", f"{bot}:{contact}")
    await limits.hit_bot(request, bot, web=caller.kind == "web")
    content = await request.body()
    delivered = await attachments.from_customer(
        client, engine, files, settings, bot, contact, message_id, name, content
    )
    if delivered.accepted_only:
        response.status_code = status.HTTP_202_ACCEPTED
    return delivered.turn


@channel.get("/conversations/{conversation_id}/attachments/{attachment_id}")
async def customer_download(
    conversation_id: str,
    attachment_id: str,
    caller: ChannelClientDep,
    engine: EngineDep,
    files: FilesDep,
) -> Response:
    """A file of the conversation, for its customer (or the admin)."""
    row = await asyncio.to_thread(attachment_rows.get, engine, attachment_id)
    conversation = await asyncio.to_thread(
        conversation_log.get_conversation, engine, conversation_id
    )
    if (
        row is None
        or conversation is None
        or row.conversation_id != conversation_id
        or not may_touch(caller, conversation, as_customer=False)
    ):
        raise not_found()
    if caller.kind == "web":
        await asyncio.to_thread(refuse_closed_web_chat, engine, caller, conversation.bot)
    return await _file(files, attachments.readable(row))


@agent.post("/conversations/{conversation_id}/attachments", response_model=MessagePublic)
async def agent_upload(
    conversation_id: str,
    request: Request,
    who: AgentDep,
    client: ClientDep,
    engine: EngineDep,
    files: FilesDep,
    settings: SettingsDep,
    name: FileName = None,
) -> MessagePublic:
    """An agent's file to the customer of a conversation the agent has."""
    content = await request.body()
    message = await attachments.from_agent(
        client, engine, files, settings, who, conversation_id, name, content
    )
    return public_message(message)


@agent.get("/attachments/{attachment_id}")
async def agent_download(
    attachment_id: str, who: AgentDep, engine: EngineDep, files: FilesDep
) -> Response:
    """A file of a conversation in one of the agent's services, or that the agent holds."""
    row = await asyncio.to_thread(attachment_rows.get, engine, attachment_id)
    if row is None or not await asyncio.to_thread(_in_services, engine, who, row):
        raise not_found()
    return await _file(files, attachments.readable(row))


def _in_services(engine: EngineDep, who: AgentPublic, row: Attachment) -> bool:
    """The attachment's conversation is, or was, queued in one of the agent's services, or
    the agent holds it (a service taken from it leaves it its conversations)."""
    if row.conversation_id is None:
        return False
    if attachment_rows.services_of(engine, row.conversation_id) & set(who.services):
        return True
    return attachment_rows.served_by(engine, row.conversation_id, who.id)


async def _file(files: FileStore, row: Attachment) -> Response:
    content = await asyncio.to_thread(files.get, row.id)
    if content is None:
        raise not_found()
    disposition = "inline" if row.content_type != "application/pdf" else "attachment"
    return Response(
        content,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{_ascii(row.name)}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _ascii(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "_" for c in name)
