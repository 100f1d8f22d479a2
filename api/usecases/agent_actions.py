"""What agents do to conversations: each action is an Update on the conversation's workflow.

The workflow (and, through it, SQL) decides; this module checks that the conversation belongs to
one of the agent's services and turns the workflow's refusals into HTTP answers (their `code`
is the refusal's: api/errors.py reads it from the error they are raised from).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import status
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, ErrorCode
from api.models.agent import AgentText, PickupPublic
from api.models.channel import MessagePublic, public_message
from api.shedding import Overloaded
from api.usecases import log_ahead
from api.usecases.desk import wrapup_now
from omni.models import AgentPublic
from store import capacity, next_lease, queue
from store import conversations as conversation_log
from store import services as service_store
from store.common import now
from store.queue import QueueEntry
from workflows.contracts import (
    AgentMessage,
    AgentMessageSent,
    FinishRequest,
    FinishResult,
    PickupRequest,
    PickupResult,
)
from workflows.conversation import ConversationWorkflow
from workflows.refusals import HTTP_STATUS, Refusal, refusal_of

log = logging.getLogger(__name__)

NEXT_ATTEMPTS = 5
"""`next` reads this many candidates at a time and sends at most this many pickups."""
NEXT_ROUNDS = 3
"""`next` reads candidates again (those now leased to others left out) at most this many times
in all, and only after losing a lease to another agent's `next`: ten agents asking at once find
the same five first entries, and the five who lost all five leases find the next ones."""


class Taken(ApiError):
    """409: another agent has the conversation, or it stopped waiting (`next` tries another)."""

    def __init__(self, reason: str, code: Refusal = Refusal.TAKEN) -> None:
        super().__init__(status.HTTP_409_CONFLICT, reason, code)


def takeable(engine: Engine, agent_id: str, limit: int) -> tuple[list[QueueEntry], set[str]]:
    """`next`'s candidates in queue order, not leased to another agent's `next`, and the
    agent's services it skipped because the agent holds the service's capacity per agent there
    (store/capacity.py)."""
    full = capacity.full_services(engine, agent_id)
    found = queue.waiting_for_agent(
        engine, agent_id, limit=limit, skip_services=full, lease_free_at=now()
    )
    return found, full


async def take_next(
    engine: Engine, client: Client, agent: AgentPublic, lease_seconds: float
) -> PickupPublic:
    """`POST /agent/next`: lease a candidate (store/next_lease.py), then send its pickup; a
    lease lost to another agent's `next` costs one UPDATE and the next candidate is tried, a
    refused pickup gives the lease back. The workflow's claim still decides who gets it."""
    tried: set[str] = set()
    pickups = 0
    full: set[str] = set()
    for _ in range(NEXT_ROUNDS):
        entries, full = await asyncio.to_thread(takeable, engine, agent.id, NEXT_ATTEMPTS)
        lost_a_lease = False
        for entry in (e for e in entries if e.id not in tried):
            leased = await asyncio.to_thread(
                next_lease.take, engine, entry.id, agent.id, lease_seconds
            )
            if not leased:  # may come back in the next round, if its taker gives it back
                lost_a_lease = True
                continue
            tried.add(entry.id)
            pickups += 1
            try:
                return await pickup(
                    client,
                    engine,
                    agent,
                    entry.workflow_id,
                    service_id=entry.service_id,
                    newly_taken=True,
                )
            except (ApiError, Overloaded) as refused:  # shed: nothing was sent
                await _release(engine, entry.id, agent.id)
                if not isinstance(refused, Taken):
                    raise
            if pickups == NEXT_ATTEMPTS:
                break
        if not lost_a_lease or pickups == NEXT_ATTEMPTS:
            break
    raise await asyncio.to_thread(nothing_to_take, engine, full)


async def _release(engine: Engine, entry_id: str, agent_id: str) -> None:
    """Best effort: a lease not given back expires (`Settings.next_lease_seconds`)."""
    try:
        await asyncio.to_thread(next_lease.release, engine, entry_id, agent_id)
    except Exception:  # noqa: BLE001 - the refusal is the answer; the lease just runs out
        log.warning("could not give back the next lease of %s", entry_id, exc_info=True)


def nothing_to_take(engine: Engine, full: set[str]) -> ApiError:
    """`next` found nothing to take: 409 `service_at_capacity` when conversations wait only
    in services where the agent holds its limit, else `nothing_waiting`."""
    if capacity.waiting_in(engine, full):
        reason = "the conversations waiting are of services where you hold your limit already"
        return ApiError(status.HTTP_409_CONFLICT, reason, Refusal.SERVICE_AT_CAPACITY)
    return ApiError(
        status.HTTP_409_CONFLICT, "no conversation is waiting for you", ErrorCode.NOTHING_WAITING
    )


def conversation_for(engine: Engine, agent: AgentPublic, conversation_id: str) -> QueueEntry:
    """The conversation's open queue entry, if it is in one of the agent's services or the agent
    has it (a supervisor's take-over or reassignment may hand it to anyone)."""
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
    if entry.service_name not in agent.services and entry.agent_id != agent.id:
        # (an agent a supervisor gave the conversation to may work it outside their services)
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "the conversation is not in one of your services",
            Refusal.NOT_YOUR_SERVICE,
        )
    return entry


async def conversation_for_async(
    engine: Engine, agent: AgentPublic, conversation_id: str
) -> QueueEntry:
    """`conversation_for` in a thread, for async routes: SQL stays off the event loop (with
    PostgreSQL over the network a query can take long, and the loop serves every request and
    stream of the process). One hop (~0.3 ms of CPU here) is what that costs (bench/README.md,
    "fourth pass")."""
    return await asyncio.to_thread(conversation_for, engine, agent, conversation_id)


def readable_entry(engine: Engine, agent: AgentPublic, conversation_id: str) -> QueueEntry:
    """The open entry, if it waits in the agent's services or the agent has it; another agent's
    conversation is a 403 like any other action on it."""
    entry = conversation_for(engine, agent, conversation_id)
    if entry.agent_id not in (None, agent.id):
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "another agent has this conversation",
            Refusal.NOT_YOUR_CONVERSATION,
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
    except (WorkflowUpdateRPCTimeoutOrCancelledError, asyncio.CancelledError):
        if getattr(request, "log_ahead", False):  # it may have been applied: nobody writes it
            log_ahead.report_missed_write(client, workflow_id)
        raise
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        refusal = refusal_of(cause)
        reason = getattr(cause, "message", str(cause))
        if refusal in (Refusal.TAKEN, Refusal.NOT_WAITING):
            raise Taken(reason, refusal) from exc
        if refusal is not None:
            raise ApiError(HTTP_STATUS[refusal], reason, refusal) from exc
        raise ApiError(status.HTTP_409_CONFLICT, reason, ErrorCode.CONFLICT) from exc
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:  # Temporal unreachable, down: the app's 503
            if getattr(request, "log_ahead", False):
                log_ahead.report_missed_write(client, workflow_id)  # an outcome nobody knows
            raise
        raise ApiError(
            status.HTTP_409_CONFLICT, "the conversation has ended", Refusal.CONVERSATION_ENDED
        ) from exc


async def pickup(
    client: Client,
    engine: Engine,
    agent: AgentPublic,
    workflow_id: str,
    *,
    service_id: str,
    newly_taken: bool = False,
) -> PickupPublic:
    """Take the conversation (a pickup sent again by the agent who has it answers the same);
    `newly_taken`: one the agent already had counts as taken (two `next` racing on a stale
    waiting list must not both get it). Its notice and status are in the log before the
    answer (api/usecases/log_ahead.py). It carries the care settings of the entry's service
    now: those the admin saved apply from the pickup on (the queueing's copy otherwise)."""
    care = await asyncio.to_thread(service_store.care_settings, engine, service_id)
    request = PickupRequest(
        agent_id=agent.id, agent_name=agent.name, log_ahead=True, care=care, care_of=service_id
    )
    result: PickupResult = await update(client, workflow_id, "pickup", request)
    if newly_taken and result.repeated:
        raise Taken("you already have this conversation")
    await log_ahead.write_ahead(
        client, engine, workflow_id, result.conversation_id, result.logged, result.log
    )
    return PickupPublic(
        conversation_id=result.conversation_id,
        transcript=[public_message(m) for m in result.transcript],
        variables=result.variables,
        service=result.service,
        waited_seconds=result.waited_seconds,
    )


async def say(
    client: Client, engine: Engine, agent: AgentPublic, entry: QueueEntry, body: AgentText
) -> MessagePublic:
    """The agent's text to the customer, in the log before the answer. Its `message_id`, when
    given, is kept as the Update's id (`AgentMessage.key`: a retry is sent once) and with the entry,
    so the agent's screens match their sends to the stream by it, not by text; the answer
    carries it too (`AgentText` caps the id so that its key fits the log's column)."""
    request = AgentMessage(
        agent_id=agent.id, text=body.text, message_id=body.message_id, log_ahead=True
    )
    key = request.key()
    message: AgentMessageSent = await update(
        client, entry.workflow_id, "agent_message", request, update_id=key
    )
    logged = message.model_copy(update={"message_id": key})
    await log_ahead.write_ahead(
        client, engine, entry.workflow_id, entry.conversation_id, [logged], message.log
    )
    return public_message(message).model_copy(update={"message_id": body.message_id})


async def finish(client: Client, engine: Engine, entry: QueueEntry, request: FinishRequest) -> str:
    """Send the finish; its entries and status are in the log before the answer (a worker
    from before `log_ahead` answers the status alone and records them itself). It carries the
    service's wrap-up settings now, the ones the agent's screen lists, to be checked against."""
    if request.wrapup is None:
        wrapup = await asyncio.to_thread(wrapup_now, engine, entry.service_id)
        request = request.model_copy(update={"wrapup": wrapup})
    result = await update(client, entry.workflow_id, "finish", request)
    if not isinstance(result, FinishResult):
        return str(result)
    await log_ahead.write_ahead(
        client, engine, entry.workflow_id, entry.conversation_id, result.logged, result.log
    )
    return result.status
