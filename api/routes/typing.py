"""Typing signals (api/typing.py): the customer's (web session or connector) and the agent's."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response, status

from api import limits, typing
from api.channel_auth import ChannelClientDep, may_touch
from api.deps import AgentDep, EngineDep, require_agent
from api.errors import ApiError, ErrorCode
from api.limits import limit
from api.stream_hub import HubDep
from api.usecases import agent_actions as actions
from store import conversations as conversation_log
from workflows.refusals import Refusal

channel = APIRouter(tags=["typing"], dependencies=[limit("requests per address")])
agent = APIRouter(prefix="/agent", tags=["typing"], dependencies=[Depends(require_agent)])


@channel.post("/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def customer_typing(
    conversation_id: str,
    request: Request,
    caller: ChannelClientDep,
    engine: EngineDep,
    hub: HubDep,
) -> Response:
    """The customer is typing: the agent's screen shows it for a few seconds."""
    row = await asyncio.to_thread(conversation_log.get_conversation, engine, conversation_id)
    if row is None or not may_touch(caller, row, as_customer=True):
        raise ApiError(
            status.HTTP_404_NOT_FOUND, "no such conversation", ErrorCode.UNKNOWN_CONVERSATION
        )
    await limits.hit(request, "typing per conversation", f"customer:{conversation_id}")
    if row.status != "ended":
        await typing.signal(engine, hub, conversation_id, "customer")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@agent.post("/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def agent_typing(
    conversation_id: str, request: Request, who: AgentDep, engine: EngineDep, hub: HubDep
) -> Response:
    """The agent who has the conversation is typing: the web chat shows it."""
    entry = await asyncio.to_thread(actions.conversation_for, engine, who, conversation_id)
    if entry.agent_id != who.id:
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "you do not have this conversation",
            Refusal.NOT_YOUR_CONVERSATION,
        )
    await limits.hit(request, "typing per conversation", f"agent:{conversation_id}")
    await typing.signal(engine, hub, conversation_id, "agent")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
