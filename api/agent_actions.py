"""What agents do to conversations: each action is an Update on the conversation's workflow.

The workflow (and, through it, SQL) decides; this module checks that the conversation belongs to
one of the agent's services and turns the workflow's refusals into HTTP answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from omni.models import AgentPublic
from store import conversations as log
from store import queue
from workflows.conversation import ConversationWorkflow
from workflows.refusals import HTTP_STATUS, Refusal, refusal_of


class Taken(HTTPException):
    """409: another agent has the conversation, or it stopped waiting."""

    def __init__(self, reason: str) -> None:
        super().__init__(status.HTTP_409_CONFLICT, reason)


def conversation_for(engine: Engine, agent: AgentPublic, conversation_id: str) -> Any:
    """The conversation's open queue entry, if it is in one of the agent's services."""
    entry = queue.open_entry(engine, conversation_id)
    if entry is None:
        if log.get_conversation(engine, conversation_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
        raise HTTPException(status.HTTP_409_CONFLICT, "the conversation is not with human service")
    if entry.service_name not in agent.services:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the conversation is not in one of your services"
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
        refusal = refusal_of(cause)
        reason = getattr(cause, "message", str(cause))
        if refusal in (Refusal.TAKEN, Refusal.NOT_WAITING):
            raise Taken(reason) from exc
        if refusal is not None:
            raise HTTPException(HTTP_STATUS[refusal], reason) from exc
        raise HTTPException(status.HTTP_409_CONFLICT, reason) from exc
    except RPCError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the conversation has ended") from exc
