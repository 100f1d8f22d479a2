"""Channel API: customers' messages in, the bot's and agents' messages out (JSON and SSE)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from api import limits, sse, typing
from api.channel_auth import (
    ChannelClient,
    ChannelClientDep,
    contact_for_message,
    may_touch,
    refuse_claimed_contact,
    refuse_closed_web_chat,
)
from api.channel_rechecks import ChannelRechecks, Followed, channel_rechecks_of
from api.deps import ClientDep, Credentials, EngineDep, parts_of
from api.errors import ApiError, ErrorCode
from api.limits import limit
from api.models.channel import (
    CUSTOMER,
    AfterSeq,
    ConversationPublic,
    MessageIn,
    MessagePublic,
    PageSize,
    Reader,
    TurnPublic,
    public_row,
)
from api.stream_drain import Drain, drain_of
from api.stream_hub import (
    GAP_GRACE_SECONDS,
    HubDep,
    LogCursor,
    StreamHub,
    Watch,
    cursor_over_holes,
    read_log,
)
from api.usecases import delivery
from omni.desk import AGENT_ONLY_KINDS
from store import conversations as conversation_log
from store import queue
from store.conversations import ConversationRow
from store.standing import Standing
from store.standing import standing as where_it_stands
from store.tables import SEQ_MAX
from store.wait_history import estimated_wait

router = APIRouter(tags=["channel"], dependencies=[limit("requests per address")])
"""Every route needs a channel client (api/channel_auth.py): a connector credential of the bot,
a web session of the contact, or (reads only) the admin."""
messages = APIRouter(
    tags=["channel"], dependencies=[limit("requests per address", "messages per address")]
)
"""The customer message's route: its two rules per address counted by one dependency, in that
order (each dependency costs FastAPI's solving per request; api/deps.py)."""


@messages.post(
    "/bots/{bot}/messages",
    response_model=TurnPublic,
    responses={202: {"description": "Accepted durably; the replies arrive on the stream."}},
)
async def post_message(
    bot: str,
    body: MessageIn,
    request: Request,
    response: Response,
    caller: ChannelClientDep,
) -> TurnPublic:
    """Deliver one customer message; replays of the same message_id return the same answer.
    An unknown bot is a 404 (`unknown_bot`), a refused message a 422 (api/errors.py)."""
    parts = parts_of(request)  # not a dependency: each costs FastAPI's solving per request
    engine = parts.engine
    contact_id = contact_for_message(caller, bot, body.contact_id)
    refuse_claimed_contact(caller, body.contact.model_extra if body.contact else None)
    if caller.kind == "web":
        await asyncio.to_thread(refuse_closed_web_chat, engine, caller, bot)
    # counted once the caller is known to speak for this contact: nobody else's requests can
    # spend a customer's or a bot's allowance
    await limits.hit(request, "messages per contact", f"{bot}:{contact_id}")
    await limits.hit_bot(request, bot, web=caller.kind == "web")
    if body.contact_id != contact_id:  # a web session's message may name none: copied
        body = body.model_copy(update={"contact_id": contact_id})
    delivered = await delivery.send(parts.client, engine, parts.settings, bot, body)
    if delivered.accepted_only:
        response.status_code = status.HTTP_202_ACCEPTED
    return delivered.turn


def _conversation(
    engine: EngineDep, caller: ChannelClient, conversation_id: str, *, as_customer: bool = False
) -> ConversationRow:
    """The conversation, if `caller` may see it; the same 404 whether it is missing or not
    the caller's (existence must not leak). A web session reads only while its bot's web chat
    is open (leaving stays possible)."""
    row = conversation_log.get_conversation(engine, conversation_id)
    if row is None or not may_touch(caller, row, as_customer=as_customer):
        raise ApiError(
            status.HTTP_404_NOT_FOUND, "no such conversation", ErrorCode.UNKNOWN_CONVERSATION
        )
    if not as_customer:
        refuse_closed_web_chat(engine, caller, row.bot)
    return row


@router.get("/conversations/{conversation_id}", response_model=ConversationPublic)
def get_conversation(
    conversation_id: str, engine: EngineDep, caller: ChannelClientDep
) -> ConversationPublic:
    """Where the conversation stands (never who the contact or the agent is)."""
    row = _conversation(engine, caller, conversation_id)
    current, service, place, wait = row.status, row.service, None, None
    entry = queue.open_entry(engine, conversation_id) if row.status != "ended" else None
    if entry is not None:  # the queue is written synchronously: it is the freshest truth
        current, service = entry.status, entry.service_name
        place = queue.position(engine, entry.id)
        if place is not None:
            wait = estimated_wait(engine, entry.service_id, place)
    return ConversationPublic(
        position=place,
        estimated_wait_seconds=wait,
        conversation_id=row.id,
        status=current,
        bot=row.bot,
        bot_version=row.bot_version,
        block=row.block,
        service=service,
        last_seq=row.last_seq,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessagePublic])
def get_messages(
    conversation_id: str,
    engine: EngineDep,
    caller: ChannelClientDep,
    after: AfterSeq = 0,
    limit: PageSize = 500,
) -> list[MessagePublic]:
    """The transcript after `seq` (customer, bot, agent and system messages; agents' internal
    notes only for the admin; a web session's own `message_id`s)."""
    _conversation(engine, caller, conversation_id)
    customer = caller.kind != "admin"
    rows = conversation_log.messages_after(
        engine, conversation_id, after, limit, for_customer=customer
    )
    return [public_row(m, _reader(caller)) for m in rows]


def _reader(caller: ChannelClient) -> Reader | None:
    """A web session sees the ids of its customer messages (the page's own); a connector,
    which reads every conversation of its bot, and the admin see none."""
    return CUSTOMER if caller.kind == "web" else None


@router.get("/conversations/{conversation_id}/stream")
async def stream(
    request: Request,
    conversation_id: str,
    engine: EngineDep,
    caller: ChannelClientDep,
    credentials: Credentials,
    hub: HubDep,
    after: Annotated[int | None, Query(ge=0, le=SEQ_MAX)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    with_status: Annotated[bool, Query(alias="status")] = False,
) -> EventSourceResponse:
    """Server-Sent Events of the transcript: `message` events whose `id:` says where the stream
    stands (the highest seq sent, and the seqs below it that were late and are still looked
    for: `7` or `7;5`; a message recorded late comes out of order), resuming at `Last-Event-ID`
    (a reconnection's, which wins over the URL's `?after=`), or after `?after=` (a transcript's
    last seq: the seqs missing below it then are sent when they come), then one `end` event once
    the conversation has ended. With `?status=true`, also `status` events (`{status, block,
    seq, menu}`, no `id:`): the status and block the conversation's row holds, `seq` the seq
    they were taken at (`conversations.status_seq`), and `menu` the seq of the menu entry the
    flow waits on as of that seq (null: none; store/standing.py). One is sent once the stream
    has sent the messages it read with it (none held back behind a missing seq), and again
    whenever any of the four has changed at a later read (each write of the row wakes the
    stream); a resumed stream sends the current one again. A server that stops ends its
    streams whole (after one more read), without `end` unless the conversation has ended: the
    client resumes elsewhere. The caller is checked again every
    `channel_credential_cache_seconds`: a revoked credential, an expired web session or a web
    chat closed ends the stream, without `end` (api/channel_rechecks.py)."""
    _conversation(engine, caller, conversation_id)
    assert credentials is not None  # channel_client checked it
    if last_event_id or after is None:
        cursor = _cursor_at(last_event_id)
    else:
        cursor = await cursor_over_holes(engine, conversation_id, after)
    notes = caller.kind == "admin"
    reader, drain = _reader(caller), drain_of(request.scope)
    rechecked = (channel_rechecks_of(request), caller, credentials.credentials)
    events = _events(
        engine, hub, conversation_id, cursor, notes=notes, reader=reader, drain=drain,
        with_status=with_status, rechecked=rechecked,
    )  # fmt: skip
    return sse.stream(events)


@router.post("/conversations/{conversation_id}/leave", status_code=status.HTTP_202_ACCEPTED)
async def leave(
    conversation_id: str, engine: EngineDep, client: ClientDep, caller: ChannelClientDep
) -> dict[str, str]:
    """The customer leaves: the conversation ends (abandoned, when waiting for an agent)."""
    row = _conversation(engine, caller, conversation_id, as_customer=True)
    if row.status != "ended":
        await delivery.leave(client, row.workflow_id)
    return {"conversation_id": row.id, "status": "leaving" if row.status != "ended" else "ended"}


def _cursor_at(last_event_id: str | None) -> LogCursor:
    """Where a resumed stream starts: the position its predecessor's last `id:` stood for."""
    if not last_event_id:
        return LogCursor(0)
    try:
        return LogCursor.resuming(last_event_id, time.monotonic())
    except ValueError:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "Last-Event-ID must be an `id:` this stream sends (`7` or `7;5`)",
            ErrorCode.BAD_REQUEST,
        ) from None


async def _events(
    engine: EngineDep,
    hub: StreamHub,
    conversation_id: str,
    cursor: LogCursor,
    *,
    notes: bool,
    reader: Reader | None,
    drain: Drain | None = None,
    with_status: bool = False,
    rechecked: tuple[ChannelRechecks, ChannelClient, str] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every message of the log once, in seq order (one recorded after the stream gave up
    waiting for it: when it comes, api/stream_hub.py `LogCursor`), until the conversation has
    ended (agents' notes only with `notes`); `with_status`, where the conversation stands
    (store/standing.py). The stream reads SQL only when the process's hub says this
    conversation's log or row changed (a typing signal alone reads nothing): the row once, then
    the log (a read per page of it) a wake. Once `drain` starts (the server is closing the
    connection), what is ready is sent and the stream returns. With `rechecked` (the process's
    rechecks, the caller and its token), it returns once the caller is no longer let in."""
    with hub.watch(drain) as watch, _followed(rechecked, watch) as followed:
        watch.conversations([conversation_id])
        last_read = False
        told: dict[str, object] | None = None  # the `status` event's data sent last
        while followed.let_in:
            # the row before the log: the messages read next hold those up to its status seq,
            # and those up to its last seq when it says the conversation ended
            row, standing = await _row(engine, conversation_id, with_status)
            async for event in _log_events(
                engine, conversation_id, cursor, notes, reader, followed
            ):
                yield event
            if not followed.let_in:  # refused while it read: nothing more, not even a page
                return
            now = None if cursor.holding else _status_data(standing)
            if now is not None and now != told:  # no `id:`: a resumed stream tells it again
                told = now
                yield sse.event("status", now)
            if not cursor.holding and _over(row, cursor.after):
                if cursor.looking_for(time.monotonic()) and not last_read:
                    last_read = True  # a late entry may have come with the end: read once more
                    continue
                yield sse.event("end", {})
                return
            if watch.draining:  # read after the wake-up: the client resumes from here
                return
            while True:  # a typing signal alone is told without reading SQL
                await watch.wait(GAP_GRACE_SECONDS if cursor.holding else None)
                if not followed.let_in:
                    return
                for typing_event in typing.customer_events(watch):
                    yield typing_event
                if watch.take()[1] or cursor.holding or watch.draining:
                    break


async def _log_events(
    engine: EngineDep,
    conversation_id: str,
    cursor: LogCursor,
    notes: bool,
    reader: Reader | None,
    followed: Followed,
) -> AsyncIterator[ServerSentEvent]:
    """The `message` events of what the log holds past `cursor`, page by page, while the
    caller is let in."""
    more = True
    while more and followed.let_in:
        ready, more = await read_log(engine, conversation_id, cursor)
        for entry, resume_id in ready:
            if entry.kind in AGENT_ONLY_KINDS and not notes:
                continue
            payload = public_row(entry, reader).model_dump(mode="json", by_alias=True)
            yield sse.event("message", payload, id=resume_id)


@contextmanager
def _followed(
    rechecked: tuple[ChannelRechecks, ChannelClient, str] | None, watch: Watch
) -> Iterator[Followed]:
    """The stream's caller, followed by the process's rechecks (None: let in for good)."""
    if rechecked is None:
        yield Followed(ChannelClient("admin", None), "", watch.wake)
        return
    rechecks, caller, token = rechecked
    with rechecks.following(caller, token, watch.wake) as followed:
        yield followed


async def _row(
    engine: EngineDep, conversation_id: str, with_status: bool
) -> tuple[ConversationRow | None, Standing | None]:
    """The conversation's row, read once a wake: with where it stands when asked."""
    if not with_status:
        row = await asyncio.to_thread(conversation_log.get_conversation, engine, conversation_id)
        return row, None
    standing = await asyncio.to_thread(where_it_stands, engine, conversation_id)
    return (standing.row if standing else None), standing


def _status_data(standing: Standing | None) -> dict[str, object] | None:
    """A `status` event's data (None: nothing to tell, the conversation has ended or its
    status is not known yet: the page judges no menu inert)."""
    if standing is None or standing.row.status == "ended" or standing.seq == 0:
        return None
    row = standing.row
    return {"status": row.status, "block": row.block, "seq": standing.seq, "menu": standing.menu}


def _over(row: ConversationRow | None, after: int) -> bool:
    """The conversation has ended and the stream has sent its last message."""
    return row is not None and row.status == "ended" and row.last_seq <= after
