"""The agent's own routes; every one needs the agent's bearer token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator

from api import agent_actions as actions
from api.conversations import public_message, public_row
from api.deps import AgentDep, ClientDep, EngineDep, require_agent
from api.schemas import MessagePublic
from omni.models import AgentPublic, AgentStatusChange
from store import conversations as log
from store import omni as store
from store import queue
from workflows.contracts import (
    MAX_TEXT_LENGTH,
    AgentMessage,
    FinishRequest,
    PickupRequest,
    TransferUpdate,
)

STREAM_POLL_SECONDS = 0.5
NEXT_ATTEMPTS = 5
"""`next` tries this many of the oldest entries before saying nothing is waiting."""

router = APIRouter(prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)])


@router.get("/me", response_model=AgentPublic)
def me(agent: AgentDep) -> AgentPublic:
    """Who the token belongs to: name, services, capacity and status."""
    return agent


@router.post("/status", response_model=AgentPublic)
def set_status(body: AgentStatusChange, agent: AgentDep, engine: EngineDep) -> AgentPublic:
    """Go ``available``, ``paused`` (stay logged in, take nothing new) or ``offline``."""
    return store.set_agent_status(engine, agent.id, body.status)


# --- working conversations --------------------------------------------------------------------


class QueueItem(BaseModel):
    conversation_id: str
    service: str
    enqueued_at: datetime
    waiting_seconds: int
    preview: str | None


class PickupPublic(BaseModel):
    conversation_id: str
    transcript: list[MessagePublic]
    variables: dict[str, Any]
    service: str
    waited_seconds: int


class AgentText(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The client's id for this message: a retry with the same id is sent once.",
    )


class TransferBody(BaseModel):
    service: str | None = Field(default=None, min_length=1)
    extension: str | None = Field(default=None, pattern=r"^\d{3}$")

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.service is None) == (self.extension is None):
            raise ValueError("give either service or extension")
        return self


class FinishBody(BaseModel):
    return_to_bot: bool = True


@router.get("/queue", response_model=list[QueueItem])
def waiting(agent: AgentDep, engine: EngineDep) -> list[QueueItem]:
    """Waiting conversations of the agent's services, oldest first."""
    return _queue_items(engine, agent)


def _queue_items(engine: EngineDep, agent: AgentPublic) -> list[QueueItem]:
    now = datetime.now(UTC)
    return [
        QueueItem(
            conversation_id=entry.conversation_id,
            service=entry.service_name,
            enqueued_at=entry.enqueued_at,
            waiting_seconds=int((now - entry.enqueued_at).total_seconds()),
            preview=entry.preview,
        )
        for entry in queue.waiting_for_agent(engine, agent.id)
    ]


@router.get("/stream")
async def stream(request: Request, agent: AgentDep, engine: EngineDep) -> StreamingResponse:
    """Server-Sent Events for the agent screen: `queue` (the waiting list of the agent's
    services, on change), `conversations` (the ones the agent has, on change) and `message`
    (each new message of those conversations; all of a conversation taken while connected)."""
    return StreamingResponse(
        _agent_events(engine, agent, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _agent_events(
    engine: EngineDep, agent: AgentPublic, request: Request
) -> AsyncIterator[str]:
    """Poll SQL (the source of truth every API replica shares) and send what changed."""
    last_queue: list[tuple[str, str]] | None = None
    last_seen: dict[str, int] = {}
    first = True
    yield "retry: 1000\n\n"
    while not await request.is_disconnected():
        items = await asyncio.to_thread(_queue_items, engine, agent)
        shape = [(item.conversation_id, item.service) for item in items]
        if shape != last_queue:
            last_queue = shape
            yield _event("queue", [item.model_dump(mode="json") for item in items])
        entries = await asyncio.to_thread(queue.in_service_for_agent, engine, agent.id)
        mine = sorted(entry.conversation_id for entry in entries)
        if first or mine != sorted(last_seen):
            for conversation_id in mine:
                if conversation_id in last_seen:
                    continue
                if first:  # the screen loads these itself: only what is new from now on
                    row = await asyncio.to_thread(log.get_conversation, engine, conversation_id)
                    last_seen[conversation_id] = row.last_seq if row is not None else 0
                else:  # taken while connected: its whole transcript, so nothing is missed
                    last_seen[conversation_id] = 0
            last_seen = {c: s for c, s in last_seen.items() if c in mine}
            yield _event("conversations", mine)
        for conversation_id, seen in list(last_seen.items()):
            rows = await asyncio.to_thread(log.messages_after, engine, conversation_id, seen)
            for row in rows:
                message = public_row(row).model_dump(mode="json", by_alias=True)
                yield _event("message", {"conversation_id": conversation_id, "message": message})
                last_seen[conversation_id] = row.seq
        first = False
        await asyncio.sleep(STREAM_POLL_SECONDS)


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/next", response_model=PickupPublic)
async def take_next(agent: AgentDep, engine: EngineDep, client: ClientDep) -> PickupPublic:
    """Pick up the oldest waiting conversation the agent may take (409 when there is none)."""
    for entry in queue.waiting_for_agent(engine, agent.id, limit=NEXT_ATTEMPTS):
        try:
            return await _pickup(client, agent, entry.workflow_id)
        except actions.Taken:
            continue
    raise HTTPException(status.HTTP_409_CONFLICT, "no conversation is waiting for you")


@router.post("/conversations/{conversation_id}/pickup", response_model=PickupPublic)
async def pickup(
    conversation_id: str, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> PickupPublic:
    """Take a waiting conversation: 409 if another agent has it, 403 if not your service."""
    entry = actions.conversation_for(engine, agent, conversation_id)
    return await _pickup(client, agent, entry.workflow_id)


@router.post("/conversations/{conversation_id}/messages", response_model=MessagePublic)
async def say(
    conversation_id: str, body: AgentText, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> MessagePublic:
    """Send a message to the customer of a conversation the agent has."""
    entry = actions.conversation_for(engine, agent, conversation_id)
    request = AgentMessage(agent_id=agent.id, text=body.text, message_id=body.message_id)
    update_id = f"agent:{agent.id}:{body.message_id}" if body.message_id else None
    message = await actions.update(
        client, entry.workflow_id, "agent_message", request, update_id=update_id
    )
    return public_message(message)


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(
    conversation_id: str, body: TransferBody, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> dict[str, str]:
    """Move the conversation to another service (by name or 3-digit extension)."""
    entry = actions.conversation_for(engine, agent, conversation_id)
    request = TransferUpdate(agent_id=agent.id, service=body.service, extension=body.extension)
    service = await actions.update(client, entry.workflow_id, "transfer", request)
    return {"conversation_id": conversation_id, "service": service}


@router.post("/conversations/{conversation_id}/finish")
async def finish(
    conversation_id: str, body: FinishBody, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> dict[str, str]:
    """End human service: back to the bot (`return_to_bot`) or the conversation ends."""
    entry = actions.conversation_for(engine, agent, conversation_id)
    request = FinishRequest(agent_id=agent.id, return_to_bot=body.return_to_bot)
    result = await actions.update(client, entry.workflow_id, "finish", request)
    return {"conversation_id": conversation_id, "status": result}


async def _pickup(client: ClientDep, agent: AgentPublic, workflow_id: str) -> PickupPublic:
    request = PickupRequest(agent_id=agent.id, agent_name=agent.name)
    result = await actions.update(client, workflow_id, "pickup", request)
    return PickupPublic(
        conversation_id=result.conversation_id,
        transcript=[public_message(m) for m in result.transcript],
        variables=result.variables,
        service=result.service,
        waited_seconds=result.waited_seconds,
    )
