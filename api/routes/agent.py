"""The agent's own routes; every one needs the agent's bearer token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from api import sse, typing
from api.agent_rechecks import AgentRechecks, rechecks_of
from api.agent_screen import AgentScreen, Pickups, describe, pickups_of, queue_items
from api.deps import (
    AgentDep,
    ClientDep,
    Credentials,
    EngineDep,
    PartsDep,
    require_agent,
    unauthorized,
)
from api.errors import ApiError, ErrorCode
from api.models.agent import (
    AgentConversation,
    AgentPublic,
    AgentStatusChange,
    AgentText,
    FinishBody,
    PickupPublic,
    QueueItem,
    TransferBody,
    TransferTarget,
)
from api.models.channel import AfterSeq, MessagePublic, PageSize, agent_reader, public_row
from api.presence import Presence, presence_of
from api.stream_cap import claim_agent_stream
from api.stream_drain import Drain, drain_of
from api.stream_hub import GAP_GRACE_SECONDS, HubDep, StreamHub
from api.usecases import agent_actions as actions
from api.usecases import offers as offer_actions
from omni.errors import NotFound
from omni.policy import transfer_refusal
from store import agents as agent_store
from store import conversations as conversation_log
from store import queue
from store import services as service_store
from workflows.contracts import FinishRequest, TransferUpdate

QUEUE_READ_SECONDS = 0.5
"""An agent stream reads the waiting list at most this often (it may change many times a second)."""
NAME_DESCRIPTION = (
    "Ask the conversation's workflow for the contact's name (up to 2 s when no worker answers);"
    " false: only what SQL knows (service, the end of the contact id), at once."
)

router = APIRouter(  # each request says the agent's screen is there (api/deps.py, presence.py)
    prefix="/agent", tags=["agent"], dependencies=[Depends(require_agent)]
)


@router.get("/me", response_model=AgentPublic)
def me(agent: AgentDep, engine: EngineDep) -> AgentPublic:
    """Who the token belongs to: name, services, capacity and status, read now (the agent the
    token check found may be a few seconds old: `agent_token_cache_seconds`). An agent deleted
    meanwhile (through another replica) answers 401, as its token now does everywhere."""
    try:
        return agent_store.get_agent(engine, agent.id)
    except NotFound:
        raise unauthorized() from None


@router.post("/status", response_model=AgentPublic)
async def set_status(
    body: AgentStatusChange, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> AgentPublic:
    """Go ``available`` (offers of auto services come at once), ``paused`` (stay logged in,
    take nothing new), ``away`` or ``offline``."""
    try:
        changed = await asyncio.to_thread(
            agent_store.set_agent_status, engine, agent.id, body.status
        )
    except NotFound:  # deleted since its token was checked (cached): as an unknown token
        raise unauthorized() from None
    if body.status == "available":
        await offer_actions.dispatch(engine, client, agent_id=agent.id)
    else:  # its open offers go to the next agents at once
        await offer_actions.withdraw(engine, client, agent.id)
    return changed


# --- working conversations --------------------------------------------------------------------


@router.get("/queue", response_model=list[QueueItem])
def waiting(agent: AgentDep, engine: EngineDep) -> list[QueueItem]:
    """Waiting conversations of the agent's services it may take, in queue order."""
    return queue_items(engine, agent)


@router.get("/stream")
async def stream(
    request: Request,
    agent: AgentDep,
    engine: EngineDep,
    credentials: Credentials,
    hub: HubDep,
) -> EventSourceResponse:
    """Server-Sent Events for the agent screen: `queue` (the waiting list of the agent's
    services, on change), `offers` (its open offers, on change), `status` (the agent's own
    status, on change: the server sets `away` after lapses, an admin or presence may set
    another), `conversations` (every one the agent has, whatever its services now, on change,
    and when one the agent took through this process left before the stream read it:
    api/agent_screen.py `Pickups`) and `message` (each new message of those conversations; all
    of a conversation taken while connected).

    The stream checks the agent again every `agent_stream_recheck_seconds`: deleted, or its
    token rotated, and the stream ends; removed from a service, and that service's waiting
    items stop; another status, and `status` says so. While it is open the agent is seen
    (api/presence.py); `status` says `reason: unseen` when presence set the agent offline.
    At most `max_streams_per_agent` open per agent and API process (api/stream_cap.py): 429 with
    `Retry-After` past it."""
    assert credentials is not None  # require_agent checked it
    claim_agent_stream(request.scope, agent.id)
    rechecks, presence = rechecks_of(request), presence_of(request.app)
    followers = (rechecks, presence, drain_of(request.scope), pickups_of(request.app))
    events = _agent_events(engine, hub, agent, followers, credentials.credentials)
    return sse.stream(events)


async def _agent_events(
    engine: EngineDep,
    hub: StreamHub,
    agent: AgentPublic,
    followers: tuple[AgentRechecks, Presence, Drain | None, Pickups],
    token: str,
) -> AsyncIterator[ServerSentEvent]:
    """Send what changed, reading SQL (the truth every API replica shares) only when the hub
    says the waiting list or one of the agent's conversations changed; the waiting list is read
    at most every QUEUE_READ_SECONDS, however often it changes. Once the connection's drain
    starts (the server is closing it), what is ready is sent and the stream returns."""
    screen = AgentScreen(engine, agent_reader(agent.id))
    rechecks, presence, drain, pickups = followers
    with (
        rechecks.following(token),
        presence.following(agent.id),
        pickups.following(agent.id, screen),
        hub.watch(drain) as watch,
    ):
        watch.queue()
        queue_due, changed, queue_read_at = True, set[str](), -QUEUE_READ_SECONDS
        offers_due, last_round = False, False
        while not last_round:
            checked = await rechecks.current(token, agent)
            if checked is None:  # deleted, or the token was rotated: the stream ends
                return
            queue_due = queue_due or checked.services != agent.services
            offers_due = offers_due or checked.status != screen.last_status  # e.g. by an admin
            agent = checked
            wait_queue = QUEUE_READ_SECONDS - (time.monotonic() - queue_read_at)
            if queue_due and wait_queue <= 0:
                queue_due, queue_read_at = False, time.monotonic()
                before = set(screen.cursors)
                async for item in screen.queue_events(agent):
                    yield item
                watch.conversations(screen.cursors)
                changed |= set(screen.cursors) - before
            elif offers_due:
                async for item in screen.offer_events(agent):
                    yield item
            offers_due = False
            async for item in screen.message_events(changed):
                yield item
            changed = {c for c, cursor in screen.cursors.items() if cursor.holding}
            if screen.unread:
                changed |= screen.unread
                continue
            timeouts = [rechecks.due_in()]
            queue_due = queue_due or screen.choices_pending  # a choice read late: again soon
            if queue_due:
                wait_queue = QUEUE_READ_SECONDS - (time.monotonic() - queue_read_at)
                timeouts.append(max(wait_queue, 0.0))
            if changed:
                timeouts.append(GAP_GRACE_SECONDS)
            last_round = watch.draining  # read after the wake-up: the screen resumes from here
            await watch.wait(min(timeouts))  # at once while draining
            for typing_event in typing.agent_events(watch):
                yield typing_event
            queue_changed, logs = watch.take()
            queue_due, changed = queue_due or queue_changed, changed | logs
            offers_due = offers_due or queue_changed


@router.post("/next", response_model=PickupPublic)
async def take_next(
    request: Request, agent: AgentDep, parts: PartsDep, hub: HubDep
) -> PickupPublic:
    """Pick up the first waiting conversation the agent may take, in queue order (priority with
    aging, skills; not one offered to another agent, nor of a service whose capacity per agent
    the agent holds, nor one another agent's `next` is picking up: store/next_lease.py); 409
    when there is none (`service_at_capacity` when only such wait)."""
    lease = parts.settings.next_lease_seconds
    taken = await actions.take_next(parts.engine, parts.client, agent, lease)
    _follow(request, hub, agent, taken)
    return taken


@router.post("/conversations/{conversation_id}/pickup", response_model=PickupPublic)
async def pickup(
    request: Request,
    conversation_id: str,
    agent: AgentDep,
    engine: EngineDep,
    client: ClientDep,
    hub: HubDep,
) -> PickupPublic:
    """Take a waiting conversation: 409 if another agent has it, 403 if not your service."""
    entry = await actions.conversation_for_async(engine, agent, conversation_id)
    taken = await actions.pickup(
        client, engine, agent, entry.workflow_id, service_id=entry.service_id
    )
    _follow(request, hub, agent, taken)
    return taken


def _follow(request: Request, hub: StreamHub, agent: AgentPublic, taken: PickupPublic) -> None:
    """This process's streams (the agent's own) follow the pickup now, and list the conversation
    as gone if it leaves before they read (api/agent_screen.py `Pickups`)."""
    pickups_of(request.app).taken(agent.id, taken.conversation_id)
    hub.queue_changed()


@router.get("/conversations/{conversation_id}", response_model=AgentConversation)
async def conversation(
    conversation_id: str,
    agent: AgentDep,
    engine: EngineDep,
    client: ClientDep,
    name: Annotated[bool, Query(description=NAME_DESCRIPTION)] = True,
) -> AgentConversation:
    """A conversation waiting in one of the agent's services, or the agent's own, with its
    contact's name (when the contact gave one) and the end of its contact id (`describe`)."""
    entry = await asyncio.to_thread(_readable, engine, agent, conversation_id)
    return await describe(client, engine, entry, name=name)


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessagePublic])
def transcript(
    conversation_id: str,
    agent: AgentDep,
    engine: EngineDep,
    after: AfterSeq = 0,
    limit: PageSize = 500,
) -> list[MessagePublic]:
    """The transcript after `seq`, for the agent who has the conversation (or may take it),
    with the ids of the agent's own replies."""
    _readable(engine, agent, conversation_id)
    rows = conversation_log.messages_after(engine, conversation_id, after, limit)
    return [public_row(m, agent_reader(agent.id)) for m in rows]


_readable = actions.readable_entry


@router.post("/conversations/{conversation_id}/messages", response_model=MessagePublic)
async def say(
    conversation_id: str, body: AgentText, agent: AgentDep, parts: PartsDep
) -> MessagePublic:
    """Send a message to the customer of a conversation the agent has (`message_id`: see
    api/usecases/agent_actions.py `say`)."""
    entry = await actions.conversation_for_async(parts.engine, agent, conversation_id)
    return await actions.say(parts.client, parts.engine, agent, entry, body)


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(
    conversation_id: str, body: TransferBody, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> dict[str, str]:
    """Move the conversation to another service (by name or 3-digit extension)."""
    entry = await actions.conversation_for_async(engine, agent, conversation_id)
    request = TransferUpdate(agent_id=agent.id, service=body.service, extension=body.extension)
    service = await actions.update(client, entry.workflow_id, "transfer", request)
    moved = await asyncio.to_thread(queue.open_entry, engine, conversation_id)
    target = [moved.service_id] if moved is not None else []
    await offer_actions.dispatch(engine, client, target, agent_id=agent.id)  # target, freed slot
    return {"conversation_id": conversation_id, "service": service}


@router.get(
    "/conversations/{conversation_id}/transfer-targets", response_model=list[TransferTarget]
)
def transfer_targets(
    conversation_id: str, agent: AgentDep, engine: EngineDep
) -> list[TransferTarget]:
    """The services this conversation may go to (not its own, not hidden, within its service's
    transfer group when one is set), by name; 403 if it is not in one of your services, 404 if
    there is no such conversation, 409 if it is not with human service. The Tela de Atendimento
    offers exactly these; the transfer applies the same rules again, so a stale list is safe."""
    entry = actions.conversation_for(engine, agent, conversation_id)
    try:
        source = service_store.get_service(engine, entry.service_id)
    except NotFound:
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "the conversation's service no longer exists",
            ErrorCode.SERVICE_GONE,
        ) from None
    return [
        TransferTarget(name=target.name, extension=target.extension)
        for target in service_store.list_services(engine)
        if transfer_refusal(source, target) is None
    ]


@router.post("/conversations/{conversation_id}/finish")
async def finish(
    conversation_id: str,
    body: FinishBody,
    agent: AgentDep,
    parts: PartsDep,
    hub: HubDep,
) -> dict[str, str]:
    """End human service: back to the bot (`return_to_bot`) or the conversation ends; 422
    `wrapup_required` (naming the codes) when the service requires a wrap-up code."""
    engine, client = parts.engine, parts.client
    entry = await actions.conversation_for_async(engine, agent, conversation_id)
    request = FinishRequest(
        agent_id=agent.id,
        return_to_bot=body.return_to_bot,
        wrapup_code=body.wrapup_code,
        tags=body.tags,
        log_ahead=True,
    )
    result = await actions.finish(client, engine, entry, request)
    if await offer_actions.dispatch(engine, client, agent_id=agent.id):  # the freed slot
        hub.queue_changed()  # this process's agent streams ring now, not at the next poll
    return {"conversation_id": conversation_id, "status": result}
