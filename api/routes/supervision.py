"""The supervisor's actions on live conversations (admin token): whisper, barge-in, take-over,
reassign, and the audit log of them (docs/omni.md, "The supervisor on a live conversation").

Monitoring needs no route of its own: the admin reads any conversation's transcript and stream
with notes and whispers through the channel routes (`GET /api/conversations/{id}/messages`,
`/stream`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import ClientDep, EngineDep, require_admin
from api.errors import ApiError, ErrorCode
from api.models.channel import public_message
from api.models.supervision import (
    ReassignBody,
    SupervisorActionPublic,
    SupervisorActionResult,
    SupervisorText,
    TakeOverBody,
)
from api.usecases import agent_actions as actions
from store import conversations as conversation_log
from store import queue, supervision
from workflows.supervision_contracts import SupervisorRequest, SupervisorResult

router = APIRouter(tags=["supervisor"], dependencies=[Depends(require_admin)])


def _workflow_of(engine: EngineDep, conversation_id: str) -> str:
    """The workflow of a conversation with human service (404 unknown, 409 with the bot)."""
    entry = queue.open_entry(engine, conversation_id)
    if entry is not None:
        return entry.workflow_id
    if conversation_log.get_conversation(engine, conversation_id) is None:
        raise ApiError(
            status.HTTP_404_NOT_FOUND, "no such conversation", ErrorCode.UNKNOWN_CONVERSATION
        )
    raise ApiError(
        status.HTTP_409_CONFLICT,
        "the conversation is not with human service",
        ErrorCode.NOT_WITH_HUMAN_SERVICE,
    )


async def _act(
    engine: EngineDep, client: ClientDep, conversation_id: str, request: SupervisorRequest
) -> SupervisorActionResult:
    workflow_id = _workflow_of(engine, conversation_id)
    result: SupervisorResult = await actions.update(
        client, workflow_id, "supervise", request, update_id=request.action_id
    )
    return SupervisorActionResult(
        id=result.action_id,
        action=result.action,
        message=public_message(result.message) if result.message else None,
        agent=result.agent,
        service=result.service,
        status=result.status,
    )


def _action_id() -> str:
    return f"sa_{uuid.uuid4().hex}"


@router.post(
    "/supervisor/conversations/{conversation_id}/whisper", response_model=SupervisorActionResult
)
async def whisper(
    conversation_id: str, body: SupervisorText, engine: EngineDep, client: ClientDep
) -> SupervisorActionResult:
    """Words to the agent only (kind `whisper`; the customer never gets them)."""
    request = SupervisorRequest(
        action_id=_action_id(), action="whisper", supervisor=body.supervisor, text=body.text
    )
    return await _act(engine, client, conversation_id, request)


@router.post(
    "/supervisor/conversations/{conversation_id}/barge-in", response_model=SupervisorActionResult
)
async def barge_in(
    conversation_id: str, body: SupervisorText, engine: EngineDep, client: ClientDep
) -> SupervisorActionResult:
    """A message to the customer from the supervisor (`from: supervisor`, named in `data`)."""
    request = SupervisorRequest(
        action_id=_action_id(), action="barge_in", supervisor=body.supervisor, text=body.text
    )
    return await _act(engine, client, conversation_id, request)


@router.post(
    "/supervisor/conversations/{conversation_id}/take-over", response_model=SupervisorActionResult
)
async def take_over(
    conversation_id: str, body: TakeOverBody, engine: EngineDep, client: ClientDep
) -> SupervisorActionResult:
    """The supervisor's agent account becomes the handling agent."""
    request = SupervisorRequest(
        action_id=_action_id(), action="take_over", supervisor=body.supervisor, agent_id=body.agent
    )
    return await _act(engine, client, conversation_id, request)


@router.post(
    "/supervisor/conversations/{conversation_id}/reassign", response_model=SupervisorActionResult
)
async def reassign(
    conversation_id: str, body: ReassignBody, engine: EngineDep, client: ClientDep
) -> SupervisorActionResult:
    """To another agent, or to the back of another service's queue (any service)."""
    request = SupervisorRequest(
        action_id=_action_id(),
        action="reassign",
        supervisor=body.supervisor,
        agent_id=body.agent,
        service=body.service,
    )
    return await _act(engine, client, conversation_id, request)


@router.get("/supervisor/actions", response_model=list[SupervisorActionPublic])
def audit_log(
    engine: EngineDep,
    conversation_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SupervisorActionPublic]:
    """The audit log of supervisor actions, newest first (of one conversation when given)."""
    rows = supervision.list_actions(engine, conversation_id, limit)
    return [
        SupervisorActionPublic(
            id=row.id,
            conversation_id=row.conversation_id,
            action=row.action,
            supervisor=row.supervisor,
            agent=row.agent,
            target=row.target,
            created_at=row.created_at,
        )
        for row in rows
    ]
