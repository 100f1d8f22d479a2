"""Channel API: customers' messages in, the bot's and agents' messages out (JSON and SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from api import conversations
from api.deps import ClientDep, EngineDep, SettingsDep
from api.schemas import ConversationPublic, MessageIn, MessagePublic, TurnPublic
from store import conversations as conversation_log
from store import queue

router = APIRouter(tags=["channel"])

STREAM_POLL_SECONDS = 0.2
STREAM_KEEPALIVE_SECONDS = 15.0


@router.post(
    "/bots/{bot}/messages",
    response_model=TurnPublic,
    responses={202: {"description": "Accepted durably; the replies arrive on the stream."}},
)
async def post_message(
    bot: str,
    body: MessageIn,
    response: Response,
    client: ClientDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> TurnPublic:
    """Deliver one customer message; replays of the same message_id return the same answer."""
    try:
        delivery = await conversations.send(client, engine, settings, bot, body)
    except conversations.UnknownBot:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no bot named {bot!r} is published"
        ) from None
    except conversations.MessageRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if delivery.accepted_only:
        response.status_code = status.HTTP_202_ACCEPTED
    return delivery.turn


def _conversation(engine: EngineDep, conversation_id: str):  # type: ignore[no-untyped-def]
    row = conversation_log.get_conversation(engine, conversation_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    return row


@router.get("/conversations/{conversation_id}", response_model=ConversationPublic)
def get_conversation(conversation_id: str, engine: EngineDep) -> ConversationPublic:
    row = _conversation(engine, conversation_id)
    current, service, place, wait = row.status, row.service, None, None
    entry = queue.open_entry(engine, conversation_id) if row.status != "ended" else None
    if entry is not None:  # the queue is written synchronously: it is the freshest truth
        current, service = entry.status, entry.service_name
        place = queue.position(engine, entry.id)
        if place is not None:
            wait = queue.estimated_wait_seconds(engine, entry.service_id, place)
    return ConversationPublic(
        position=place,
        estimated_wait_seconds=wait,
        conversation_id=row.id,
        status=current,
        bot=row.bot,
        bot_version=row.bot_version,
        contact_id=row.contact_id,
        block=row.block,
        service=service,
        agent=row.agent,
        last_seq=row.last_seq,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessagePublic])
def get_messages(
    conversation_id: str,
    engine: EngineDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> list[MessagePublic]:
    """The transcript after `seq` (customer, bot, agent and system messages)."""
    _conversation(engine, conversation_id)
    return [
        conversations.public_row(m)
        for m in conversation_log.messages_after(engine, conversation_id, after, limit)
    ]


@router.get("/conversations/{conversation_id}/stream")
async def stream(
    conversation_id: str,
    request: Request,
    engine: EngineDep,
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events of the transcript; resumes after `Last-Event-ID` (or `?after=`)."""
    _conversation(engine, conversation_id)
    start = after if after is not None else _seq_of(last_event_id)
    return StreamingResponse(
        _events(engine, conversation_id, start, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/conversations/{conversation_id}/leave", status_code=status.HTTP_202_ACCEPTED)
async def leave(conversation_id: str, engine: EngineDep, client: ClientDep) -> dict[str, str]:
    """The customer leaves: the conversation ends (abandoned, when waiting for an agent)."""
    row = _conversation(engine, conversation_id)
    if row.status != "ended":
        await conversations.leave(client, row.workflow_id)
    return {"conversation_id": row.id, "status": "leaving" if row.status != "ended" else "ended"}


def _seq_of(last_event_id: str | None) -> int:
    if not last_event_id:
        return 0
    try:
        return max(int(last_event_id), 0)
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "Last-Event-ID must be a message seq"
        ) from None


async def _events(
    engine: EngineDep, conversation_id: str, after: int, request: Request
) -> AsyncIterator[str]:
    """Tail the SQL log: every new message once, in order, until the conversation has ended."""
    idle = 0.0
    yield "retry: 1000\n\n"
    while not await request.is_disconnected():
        rows = await asyncio.to_thread(
            conversation_log.messages_after, engine, conversation_id, after
        )
        for row in rows:
            payload = conversations.public_row(row).model_dump(mode="json", by_alias=True)
            data = json.dumps(payload, ensure_ascii=False)
            yield f"id: {row.seq}\nevent: message\ndata: {data}\n\n"
            after = row.seq
        if rows:
            idle = 0.0
            continue
        conversation = await asyncio.to_thread(
            conversation_log.get_conversation, engine, conversation_id
        )
        if (
            conversation is not None
            and conversation.status == "ended"
            and conversation.last_seq <= after
        ):
            yield "event: end\ndata: {}\n\n"
            return
        await asyncio.sleep(STREAM_POLL_SECONDS)
        idle += STREAM_POLL_SECONDS
        if idle >= STREAM_KEEPALIVE_SECONDS:
            idle = 0.0
            yield ": keep-alive\n\n"
