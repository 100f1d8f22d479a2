"""What one agent stream (GET /api/agent/stream, api/routes/agent.py) has sent and what it
sends next: the waiting list, offers, status, the conversations the agent holds and their
messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import Engine
from sse_starlette import ServerSentEvent

from api import sse
from api.models.agent import AgentPublic, QueueItem
from api.models.channel import Reader, public_row
from api.models.offers import public_offer
from api.presence import status_data
from api.stream_hub import LogCursor, cursor_over_holes, read_log
from omni.errors import NotFound
from store import agents as agent_store
from store import conversations as conversation_log
from store import queue, routing


def queue_items(engine: Engine, agent: AgentPublic) -> list[QueueItem]:
    """Waiting conversations of the agent's services it may take, in queue order."""
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


class AgentScreen:
    """What one agent stream has sent: the queue's shape and, per conversation the agent has,
    where it is in the log (`LogCursor`)."""

    def __init__(self, engine: Engine, reader: Reader) -> None:
        self.engine = engine
        self.reader = reader  # the agent: its own replies' ids
        self.last_queue: list[tuple[str, str]] | None = None
        self.last_offers: list[str] | None = None
        self.last_status: str | None = None
        self.cursors: dict[str, LogCursor] = {}
        self.unread: set[str] = set()
        """Conversations with more than one read's worth of new messages: read again at once."""
        self.first = True

    async def queue_events(self, agent: AgentPublic) -> AsyncIterator[ServerSentEvent]:
        """`queue` (of the agent's services) and `conversations` (every one it holds) when
        they changed."""
        items = await asyncio.to_thread(queue_items, self.engine, agent)
        shape = [(item.conversation_id, item.service) for item in items]
        if shape != self.last_queue:
            self.last_queue = shape
            yield sse.event("queue", [item.model_dump(mode="json") for item in items])
        async for item in self.offer_events(agent):
            yield item
        # all it holds, whatever its services now: as in Genesys or Flex, a service taken away
        # takes away its waiting list, not the conversations the agent is working (nor its
        # capacity); the agent answers and finishes them (api/usecases/agent_actions.py)
        entries = await asyncio.to_thread(queue.in_service_for_agent, self.engine, agent.id)
        mine = sorted(e.conversation_id for e in entries)
        if self.first or mine != sorted(self.cursors):
            for conversation_id in mine:
                if conversation_id not in self.cursors:
                    start = await self._start_at(conversation_id)
                    self.cursors[conversation_id] = await cursor_over_holes(
                        self.engine, conversation_id, start
                    )
            self.cursors = {c: cursor for c, cursor in self.cursors.items() if c in mine}
            yield sse.event("conversations", mine)
        self.first = False

    async def offer_events(self, agent: AgentPublic) -> AsyncIterator[ServerSentEvent]:
        """`offers` when the agent's open offers changed (read at every queue change, not
        throttled like the waiting list: the screen rings at once); `status` when the server
        changed the agent's status (e.g. `away` after lapsed offers)."""
        offers = await asyncio.to_thread(routing.open_offers, self.engine, agent.id)
        if [offer.id for offer in offers] != self.last_offers:  # the screen rings
            self.last_offers = [offer.id for offer in offers]
            yield sse.event("offers", [public_offer(o).model_dump(mode="json") for o in offers])
        try:
            me = await asyncio.to_thread(agent_store.get_agent, self.engine, agent.id)
        except NotFound:
            return  # deleted: the stream's recheck ends it
        if me.status != self.last_status:  # e.g. `away` after lapses, set by the server
            self.last_status = me.status
            yield sse.event("status", await status_data(self.engine, me.id, me.status))

    async def _start_at(self, conversation_id: str) -> int:
        if not self.first:  # taken while connected: its whole transcript, so nothing is missed
            return 0
        # the screen loads these itself: only what is new from now on
        conversation = await asyncio.to_thread(
            conversation_log.get_conversation, self.engine, conversation_id
        )
        return conversation.last_seq if conversation is not None else 0

    async def message_events(self, conversation_ids: set[str]) -> AsyncIterator[ServerSentEvent]:
        """New messages of those of `conversation_ids` the agent has, in seq order (a late one
        when it comes: `LogCursor`)."""
        self.unread = set()
        for conversation_id in sorted(conversation_ids & set(self.cursors)):
            cursor = self.cursors[conversation_id]
            ready, more = await read_log(self.engine, conversation_id, cursor)
            for row, _ in ready:
                message = public_row(row, self.reader).model_dump(mode="json", by_alias=True)
                yield sse.event("message", {"conversation_id": conversation_id, "message": message})
            if more:
                self.unread.add(conversation_id)
