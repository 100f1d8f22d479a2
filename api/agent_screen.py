"""What the agent screen is told: what one agent stream (GET /api/agent/stream,
api/routes/agent.py) has sent and sends next (the waiting list, offers, status, the
conversations the agent holds and their messages; the pickups answered meanwhile: `Pickups`),
and how a waiting customer and a conversation are named (`MenuChoices`, `describe`)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sse_starlette import ServerSentEvent
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from api import sse
from api.models.agent import AgentConversation, AgentPublic, QueueItem
from api.models.channel import Reader, public_row
from api.models.offers import AgentOffer, public_offer
from api.presence import status_data
from api.shedding import Overloaded
from api.stream_hub import LogCursor, cursor_over_holes, read_log
from omni.errors import NotFound
from store import agents as agent_store
from store import conversations as conversation_log
from store import queue, routing
from store.conversations import MessageRow
from store.offers import Offer
from store.open_conversations import short_contact
from store.queue import QueueEntry
from workflows.conversation import ConversationWorkflow
from workflows.interpreter import normalize

OPTION_NUMBER = re.compile(r"\W*[1-9][0-9]{0,2}\W*")
"""A customer text that is only a number (as a menu reads it: `normalize`), maybe the number
of the menu option it chose."""
CHOICE_WINDOW = 40
"""Log entries read back from a conversation's newest, looking for the menu its preview chose in."""
KNOWN_CHOICES = 4096
"""Queue entries whose choice a process remembers (an entry's preview never changes)."""
CHOICE_TRIES = 10
"""Reads of a log still behind before an entry's choice is given up (left unknown)."""
NAME_QUERY_TIMEOUT = timedelta(seconds=2)
"""How long the screen's read of a conversation waits for its contact's name."""


class MenuChoices:
    """The label of the menu option a waiting customer chose by its number ("1" → "Falar com
    um especialista"): the queue, and an offer of the entry, say what the customer wants, not a
    digit. Read from the log once per queue entry and process (again while the log lacks the
    customer's message)."""

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}
        self._tries: dict[str, int] = {}
        self._lock = threading.Lock()  # the queue is read in worker threads

    def of(self, engine: Engine, entry: QueueEntry) -> str | None:
        return self.of_entry(engine, entry.id, entry.conversation_id, entry.preview)

    def of_offer(self, engine: Engine, offer: Offer) -> str | None:
        return self.of_entry(engine, offer.entry_id, offer.conversation_id, offer.preview)

    def pending(self, entry_id: str, preview: str | None) -> bool:
        """The entry's choice is not known yet (its log was behind at the last read): the
        screen reads it again shortly (api/routes/agent.py)."""
        if preview is None or not OPTION_NUMBER.fullmatch(preview):
            return False
        with self._lock:
            return entry_id not in self._known

    def of_entry(
        self, engine: Engine, entry_id: str, conversation_id: str, preview: str | None
    ) -> str | None:
        if preview is None or not OPTION_NUMBER.fullmatch(preview):
            return None
        with self._lock:
            if entry_id in self._known:
                return self._known[entry_id]
        conversation = conversation_log.get_conversation(engine, conversation_id)
        rows: Sequence[MessageRow] = ()
        if conversation is not None:
            after = max(0, conversation.last_seq - CHOICE_WINDOW)
            rows = conversation_log.messages_after(engine, conversation_id, after, CHOICE_WINDOW)
        seen, label = menu_choice(rows, normalize(preview))
        with self._lock:
            self._tries[entry_id] = tries = self._tries.get(entry_id, 0) + 1
        if seen or len(rows) >= CHOICE_WINDOW or tries >= CHOICE_TRIES:  # else: next read
            with self._lock:
                while len(self._known) >= KNOWN_CHOICES:
                    del self._known[next(iter(self._known))]
                self._known[entry_id] = label
                self._tries.pop(entry_id, None)
        return label


def menu_choice(rows: Sequence[MessageRow], number: str) -> tuple[bool, str | None]:
    """Whether `rows` (in seq order) hold the customer's `number` (normalized), and the label of
    the option it chose: only when the nearest bot entry before the newest such message is a
    menu with that option (workflows/interpreter.py `_answer_menu`). Any other bot entry there
    (a question after the menu's answer or its timeout; a hand-over's text, which the log cannot
    tell from one) means no choice: the bare digit rather than a wrong option."""
    newest = next(
        (
            at
            for at in range(len(rows) - 1, -1, -1)
            if rows[at].sender == "customer" and normalize(rows[at].text or "") == number
        ),
        None,
    )
    if newest is None:
        return False, None
    asked = next((row for row in reversed(rows[:newest]) if row.sender == "bot"), None)
    if asked is None or asked.kind != "menu":
        return True, None
    options = (asked.data or {}).get("options") or []
    chosen = int(number) if number.isdecimal() and str(int(number)) == number else 0
    return True, str(options[chosen - 1]) if 1 <= chosen <= len(options) else None


CHOICES = MenuChoices()


def agent_offers(engine: Engine, agent_id: str) -> list[AgentOffer]:
    """The agent's open offers (its screen rings for these), oldest first, each with the menu
    option its customer chose (`choice`), as the queue items have it."""
    return [
        public_offer(offer, choice=CHOICES.of_offer(engine, offer))
        for offer in routing.open_offers(engine, agent_id)
    ]


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
            choice=CHOICES.of(engine, entry),
        )
        for entry in queue.waiting_for_agent(engine, agent.id)
    ]


async def describe(
    client: Client, engine: Engine, entry: QueueEntry, *, name: bool = True
) -> AgentConversation:
    """A conversation as the screen names it: its service, and its contact by the end of its id
    and (with `name`) by the name the contact gave: the workflow keeps it, SQL has none, so it
    may take up to `NAME_QUERY_TIMEOUT`; without `name` the answer is SQL's alone, at once."""
    row = await asyncio.to_thread(conversation_log.get_conversation, engine, entry.conversation_id)
    return AgentConversation(
        conversation_id=entry.conversation_id,
        service=entry.service_name,
        status=entry.status,
        contact_name=await _contact_name(client, entry.workflow_id) if name else None,
        contact=short_contact(row.contact_id) if row is not None else None,
    )


async def _contact_name(client: Client, workflow_id: str) -> str | None:
    """None when the contact gave none, or when the workflow does not answer soon (overloaded,
    no worker): the screen then names the conversation by the contact's id."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        context = await handle.query(
            ConversationWorkflow.desk_context, rpc_timeout=NAME_QUERY_TIMEOUT
        )
    except (Overloaded, RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    name = (context.get("contact") or {}).get("name")
    return name.strip() or None if isinstance(name, str) else None


class AgentScreen:
    """What one agent stream has sent: the queue's shape and, per conversation the agent has,
    where it is in the log (`LogCursor`)."""

    def __init__(self, engine: Engine, reader: Reader) -> None:
        self.engine = engine
        self.reader = reader  # the agent: its own replies' ids
        self.last_queue: list[tuple[str, str]] | None = None
        self.last_offers: list[tuple[str, str | None]] | None = None
        self.choices_pending = False
        """An offer's menu choice was not in the log yet: the stream reads the offers again."""
        self.last_status: str | None = None
        self.cursors: dict[str, LogCursor] = {}
        self.taken: set[str] = set()
        """Conversations the agent took through this process since the last read (`Pickups`)."""
        self.unread: set[str] = set()
        """Conversations with more than one read's worth of new messages: read again at once."""
        self.first = True

    async def queue_events(self, agent: AgentPublic) -> AsyncIterator[ServerSentEvent]:
        """`queue` (of the agent's services) and `conversations` (every one it holds) when
        they changed, or when a conversation the agent took left before this read (`Pickups`)."""
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
        taken, self.taken = self.taken, set()  # before the read, which sees their pickups
        entries = await asyncio.to_thread(queue.in_service_for_agent, self.engine, agent.id)
        mine = sorted(e.conversation_id for e in entries)
        gone = taken.difference(mine)  # taken and gone since the last read: the screen has it
        if self.first or mine != sorted(self.cursors) or gone:
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
        offers = await asyncio.to_thread(agent_offers, self.engine, agent.id)
        shown = [(offer.id, offer.choice) for offer in offers]
        if shown != self.last_offers:  # new ones ring; a choice read late is said
            self.last_offers = shown
            yield sse.event("offers", [offer.model_dump(mode="json") for offer in offers])
        self.choices_pending = any(CHOICES.pending(o.entry_id, o.preview) for o in offers)
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


class Pickups:
    """This process's agent screens by agent, told of the pickups answered here (`taken`). The
    screen opens a conversation from the pickup's answer, and closes it when the stream's
    `conversations` no longer lists it; but one taken and gone again before the stream's next
    read (the customer left at once, a supervisor reassigned it) is in neither of the lists the
    stream reads, which are then the same: without being told, the stream would send nothing,
    and the conversation would stay open on the screen. A pickup answered by another API process
    is not told here: that stream lists it if it is still the agent's at its next read."""

    def __init__(self) -> None:
        self._screens: defaultdict[str, set[AgentScreen]] = defaultdict(set)

    @contextmanager
    def following(self, agent_id: str, screen: AgentScreen) -> Iterator[None]:
        """While an agent stream is open: its screen is told of the agent's pickups."""
        self._screens[agent_id].add(screen)
        try:
            yield
        finally:
            screens = self._screens[agent_id]
            screens.discard(screen)
            if not screens:
                del self._screens[agent_id]

    def taken(self, agent_id: str, conversation_id: str) -> None:
        """The agent took the conversation (its pickup committed): its streams' next read of
        the agent's conversations sends them, even when the list did not change. Wake them
        (the hub's `queue_changed`) after this."""
        for screen in self._screens.get(agent_id, ()):
            screen.taken.add(conversation_id)


def pickups_of(app: Any) -> Pickups:
    """The process's `Pickups` (made on first use, as api/agent_rechecks.py `rechecks_of`)."""
    state = app.state
    if not hasattr(state, "agent_pickups"):
        state.agent_pickups = Pickups()
    pickups: Pickups = state.agent_pickups
    return pickups
