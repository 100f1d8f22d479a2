"""What agents do to conversations: each action is an Update on the conversation's workflow.

The workflow (and, through it, SQL) decides; this module checks that the conversation belongs to
one of the agent's services and turns the workflow's refusals into HTTP answers (their `code`
is the refusal's: api/errors.py reads it from the error they are raised from).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.errors import ApiError, ErrorCode
from omni.models import AgentPublic
from store import conversations as conversation_log
from store import queue
from workflows.conversation import ConversationWorkflow
from workflows.refusals import Refusal

REFUSAL_STATUS = {
    "taken": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
    "not_available": status.HTTP_409_CONFLICT,
    "at_capacity": status.HTTP_409_CONFLICT,
    "not_your_service": status.HTTP_403_FORBIDDEN,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "not_found": status.HTTP_404_NOT_FOUND,
    "bad_request": status.HTTP_422_UNPROCESSABLE_CONTENT,
}


class Taken(ApiError):
    """409: another agent has the conversation, or it stopped waiting."""

    def __init__(self, reason: str) -> None:
        super().__init__(status.HTTP_409_CONFLICT, reason, Refusal.TAKEN)


def conversation_for(engine: Engine, agent: AgentPublic, conversation_id: str) -> Any:
    """The conversation's open queue entry, if it is in one of the agent's services."""
    entry = queue.open_entry(engine, conversation_id)
    if entry is None:
        if conversation_log.get_conversation(engine, conversation_id) is None:
            raise ApiError(
                status.HTTP_404_NOT_FOUND, "no such conversation", ErrorCode.UNKNOWN_CONVERSATION
            )
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "the conversation is not with human service",
            ErrorCode.NOT_WITH_HUMAN_SERVICE,
        )
    if entry.service_name not in agent.services:
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "the conversation is not in one of your services",
            Refusal.NOT_YOUR_SERVICE,
        )
    return entry


async def update(
    client: Client,
    workflow_id: str,
    update_name: str,
    request: Any,
    update_id: str | None = None,
) -> Any:
    """Send an agent's Update; refusals become 4xx with the workflow's reason. With an
    `update_id`, a retried request is answered once (Temporal deduplicates it in the run)."""
    handle = client.get_workflow_handle(workflow_id)
    method = getattr(ConversationWorkflow, update_name)
    try:
        return await handle.execute_update(method, request, id=update_id)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "taken":
            raise Taken(cause.message) from exc
        if isinstance(cause, ApplicationError) and cause.type in REFUSAL_STATUS:
            raise HTTPException(REFUSAL_STATUS[cause.type], cause.message) from exc
        reason = getattr(cause, "message", str(cause))
        raise HTTPException(status.HTTP_409_CONFLICT, reason) from exc
    except RPCError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the conversation has ended") from exc
