"""The supervisor's actions on live conversations: monitor (the transcript with notes and
whispers), whisper, barge-in, take-over, reassign, and the audit log of them (docs/omni.md, "The
supervisor on a live conversation").

The admin token acts on any conversation and signs with the body's `supervisor` text; a
supervisor's own token (api/supervisor_scope.py) only on conversations of its services, signed
with its account's name, and a take-over makes its own account the handling agent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from api.deps import ClientDep, EngineDep
from api.errors import ApiError, ErrorCode
from api.models.channel import AfterSeq, MessagePublic, PageSize, public_message, public_row
from api.models.supervision import (
    ReassignBody,
    SupervisorActionPublic,
    SupervisorActionResult,
    SupervisorText,
    TakeOverBody,
)
from api.supervisor_scope import Supervisor, SupervisorDep, outside, require_supervisor
from api.usecases import agent_actions as actions
from omni.errors import NotFound
from store import agents as agent_store
from store import conversations as conversation_log
from store import queue, supervision
from store import services as service_store
from workflows.supervision_contracts import (
    SupervisorActionKind,
    SupervisorRequest,
    SupervisorResult,
)

router = APIRouter(tags=["supervisor"], dependencies=[Depends(require_supervisor)])


def _workflow_of(engine: EngineDep, caller: Supervisor, conversation_id: str) -> str:
    """The workflow of a conversation with human service (404 unknown, 409 with the bot, 403
    in a service the caller does not supervise)."""
    entry = queue.open_entry(engine, conversation_id)
    if entry is not None:
        caller.check(entry.service_id)
        return entry.workflow_id
    _visible(engine, caller, conversation_id)
    raise ApiError(
        status.HTTP_409_CONFLICT,
        "the conversation is not with human service",
        ErrorCode.NOT_WITH_HUMAN_SERVICE,
    )


def _visible(engine: EngineDep, caller: Supervisor, conversation_id: str) -> None:
    """404 for an unknown conversation; 403 for one now in another service (a transfer gave it
    to that service's supervisors while it is there), or, once ended, never in the supervisor's
    services (api/supervisor_scope.py: otherwise it is read whole)."""
    if conversation_log.get_conversation(engine, conversation_id) is None:
        raise ApiError(
            status.HTTP_404_NOT_FOUND, "no such conversation", ErrorCode.UNKNOWN_CONVERSATION
        )
    ids = caller.service_ids
    if ids is None:
        return
    entry = queue.open_entry(engine, conversation_id)
    if entry is not None:  # with human service now: the service it is in decides
        caller.check(entry.service_id)
    elif not supervision.conversation_in_services(engine, conversation_id, ids):
        raise outside()


def _agent_in_scope(engine: EngineDep, caller: Supervisor, agent_id: str | None) -> None:
    """A supervisor passes conversations only to agents of its services (an unknown id is the
    workflow's `no_such_agent`)."""
    names = caller.service_names
    if names is None or agent_id is None:
        return
    try:
        agent = agent_store.get_agent(engine, agent_id)
    except NotFound:
        return
    if not names.intersection(agent.services):
        raise outside()


async def _act(
    engine: EngineDep,
    client: ClientDep,
    caller: Supervisor,
    conversation_id: str,
    action: SupervisorActionKind,
    signed: str,
    *,
    workflow_id: str | None = None,
    **fields: Any,
) -> SupervisorActionResult:
    """Send one action to the conversation's workflow, audited under the caller's signature
    (`workflow_id`: already looked up by the route's own checks)."""
    if workflow_id is None:
        workflow_id = await asyncio.to_thread(_workflow_of, engine, caller, conversation_id)
    request = SupervisorRequest(
        action_id=f"sa_{uuid.uuid4().hex}",
        action=action,
        supervisor=caller.signature(signed),
        **fields,
    )
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


@router.post(
    "/supervisor/conversations/{conversation_id}/whisper", response_model=SupervisorActionResult
)
async def whisper(
    conversation_id: str,
    body: SupervisorText,
    engine: EngineDep,
    client: ClientDep,
    caller: SupervisorDep,
) -> SupervisorActionResult:
    """Words to the agent only (kind `whisper`; the customer never gets them)."""
    return await _act(
        engine, client, caller, conversation_id, "whisper", body.supervisor, text=body.text
    )


@router.post(
    "/supervisor/conversations/{conversation_id}/barge-in", response_model=SupervisorActionResult
)
async def barge_in(
    conversation_id: str,
    body: SupervisorText,
    engine: EngineDep,
    client: ClientDep,
    caller: SupervisorDep,
) -> SupervisorActionResult:
    """A message to the customer from the supervisor (`from: supervisor`, named in `data`)."""
    return await _act(
        engine, client, caller, conversation_id, "barge_in", body.supervisor, text=body.text
    )


@router.post(
    "/supervisor/conversations/{conversation_id}/take-over", response_model=SupervisorActionResult
)
async def take_over(
    conversation_id: str,
    body: TakeOverBody,
    engine: EngineDep,
    client: ClientDep,
    caller: SupervisorDep,
) -> SupervisorActionResult:
    """The supervisor's agent account becomes the handling agent: the caller's own with a
    supervisor's token (`agent` is ignored), the one named by `agent` with the admin token."""
    agent_id = body.agent if caller.agent is None else caller.agent.id
    if agent_id is None:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "a take-over with the admin token names the agent account (agent)",
            ErrorCode.BAD_REQUEST,
        )
    return await _act(
        engine, client, caller, conversation_id, "take_over", body.supervisor, agent_id=agent_id
    )


@router.post(
    "/supervisor/conversations/{conversation_id}/reassign", response_model=SupervisorActionResult
)
async def reassign(
    conversation_id: str,
    body: ReassignBody,
    engine: EngineDep,
    client: ClientDep,
    caller: SupervisorDep,
) -> SupervisorActionResult:
    """To another agent, or to the back of another service's queue (any service for the admin;
    for a supervisor, an agent or a service of its own services)."""
    workflow_id = _workflow_of(engine, caller, conversation_id)  # 403 before probing the target
    _agent_in_scope(engine, caller, body.agent)
    if body.service is not None and caller.agent is not None:  # found as a transfer finds it
        target = service_store.find_service(engine, name=body.service)
        if target is None or not caller.sees(target.id):
            raise outside()
    return await _act(
        engine, client, caller, conversation_id, "reassign", body.supervisor,
        workflow_id=workflow_id, agent_id=body.agent, service=body.service,
    )  # fmt: skip


@router.get(
    "/supervisor/conversations/{conversation_id}/messages", response_model=list[MessagePublic]
)
def transcript(
    conversation_id: str,
    engine: EngineDep,
    caller: SupervisorDep,
    after: AfterSeq = 0,
    limit: PageSize = 500,
) -> list[MessagePublic]:
    """The monitor: the transcript after `seq`, agents' notes and whispers included, of a
    conversation that was in one of the supervisor's services (any, for the admin)."""
    _visible(engine, caller, conversation_id)
    rows = conversation_log.messages_after(engine, conversation_id, after, limit)
    return [public_row(m) for m in rows]


@router.get("/supervisor/actions", response_model=list[SupervisorActionPublic])
def audit_log(
    engine: EngineDep,
    caller: SupervisorDep,
    conversation_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SupervisorActionPublic]:
    """The audit log of supervisor actions, newest first (of one conversation when given; for
    a supervisor, of the conversations that were in its services)."""
    if conversation_id is not None and caller.service_ids is not None:
        _visible(engine, caller, conversation_id)
    rows = supervision.list_actions(engine, conversation_id, limit, caller.service_ids)
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
