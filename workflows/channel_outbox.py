"""The customer's channel (WhatsApp, Telegram), mixed into ConversationWorkflow.

A conversation started from a channel webhook carries a `ChannelRef` in its input; for it, one
pump hands every transcript entry that is not the customer's (bot replies, menus, cards,
notices, agent messages; never an internal note) to the
`channel_send` activity, one at a time, in seq order, retried
with backoff. `conv.channel_through` (carried through continue-as-new) says how far it got.
What could not be delivered becomes a `delivery_failure` notice in the transcript, for the
agent and the supervisor (it is never sent to the channel). Conversations without a channel
(and every history recorded before this module) start no pump and schedule nothing.

The pump reads its entries from the transcript tail (`conv.recent`, RECENT_MESSAGES entries):
while one send is retried (a platform down: up to CHANNEL_GIVE_UP), more entries than the tail
holds may pile up behind it, and the oldest leave it unsent. A watcher beside the pump looks at
every entry while it is in the tail (after each pass of the workflow's event loop that added
some) and keeps the seqs of those for the channel the pump has not reached (`ChannelWatch`),
so the ones that leave the tail unsent are known exactly, customers' entries and entries for
the agents only never counted. The pump tells them in one `delivery_failure` notice (outcome
`backlog`: how many, from which seq to which) and goes on past them (patch `channel-backlog`,
asked only when such a loss is met; before it they were skipped in silence). This lasts one
run and needs no carried field: a run continues as new only once the pump is idle (nothing
left to send, no loss left untold), so the next run owes nothing from before its tail. Only
more than RECENT_MESSAGES entries added within one pass of the event loop (a turn runs at most
100 blocks: it takes several handlers' turns in one workflow task) could come and leave between
two looks: their seqs are told as possibly lost (`unverified`), never skipped in silence.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.channel_send import ChannelSend, ChannelSender, ChannelSent
    from omni.desk import AGENT_ONLY_KINDS
    from workflows.contracts import ChannelRef, Message

from workflows import patches, transcript_tail
from workflows.transcript_tail import RECENT_MESSAGES

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object

CHANNEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
CHANNEL_GIVE_UP = timedelta(hours=1)
"""A platform down for longer than this: the entry is reported undelivered to the agent."""
NOT_SENT = "delivery_failure"
"""The kind of the transcript notice about an entry the channel did not get (never sent)."""
UNSENT_KINDS = frozenset({NOT_SENT, *AGENT_ONLY_KINDS})
"""Entries for the agents only: delivery notices, notes, whispers and supervisor notices never
reach the channel."""
PLATFORM_NAMES = {"whatsapp": "WhatsApp", "telegram": "Telegram"}


def _for_channel(message: Message) -> bool:
    """Whether the pump sends this entry: not the customer's, not for the agents only."""
    return message.sender != "customer" and message.kind not in UNSENT_KINDS


@dataclass(frozen=True)
class Backlog:
    """Entries for the channel that left the transcript tail before the pump reached them."""

    from_seq: int
    to_seq: int
    count: int = 0
    """How many of the seqs between were entries for the channel (seen in the tail)."""
    unverified: int = 0
    """Seqs that came and left between two looks: for the channel or not, unknown."""

    def joined(self, other: Backlog | None) -> Backlog:
        if other is None:
            return self
        return Backlog(
            min(self.from_seq, other.from_seq),
            max(self.to_seq, other.to_seq),
            self.count + other.count,
            self.unverified + other.unverified,
        )

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"from_seq": self.from_seq, "to_seq": self.to_seq}
        data.update(outcome="backlog", count=self.count)
        if self.unverified:
            data["unverified"] = self.unverified
        return data


class ChannelWatch:
    """The entries for the channel the pump has not reached, looked at while in the tail (one
    run's: see the module's docstring)."""

    def __init__(self) -> None:
        self.seen: int | None = None
        """The newest seq looked at (None: nothing yet in this run)."""
        self.waiting: deque[int] = deque()
        """Seqs of the entries for the channel seen and not yet taken by the pump, in order."""
        self.lost: Backlog | None = None
        """What left the tail unsent, not told yet."""

    def behind(self, recent: list[Message]) -> bool:
        """The tail has entries not looked at yet."""
        return bool(recent) and (self.seen is None or recent[-1].seq > self.seen)

    def look(self, recent: list[Message], through: int) -> None:
        """Note the new entries for the channel, and those that left the tail unsent."""
        if not recent:
            return
        oldest = recent[0].seq
        while self.waiting and self.waiting[0] < oldest:
            seq = self.waiting.popleft()
            if seq > through:
                self._lose(Backlog(seq, seq, count=1))
        if self.seen is not None and len(recent) >= RECENT_MESSAGES:
            first_unseen = max(self.seen, through) + 1
            if oldest > first_unseen:  # the whole tail is new: some may have come and gone
                self._lose(Backlog(first_unseen, oldest - 1, unverified=oldest - first_unseen))
        for message in transcript_tail.between(recent, self.seen or 0):
            if message.seq > through and _for_channel(message):
                self.waiting.append(message.seq)
        self.seen = max(self.seen or 0, recent[-1].seq)

    def taken(self, seq: int) -> None:
        """The pump took the entry `seq` (it sends it, or gives up on it): no longer waiting."""
        while self.waiting and self.waiting[0] <= seq:
            self.waiting.popleft()

    def take_lost(self) -> Backlog | None:
        lost, self.lost = self.lost, None
        return lost

    def _lose(self, backlog: Backlog) -> None:
        self.lost = backlog.joined(self.lost)


class ChannelOutbox(_Core):
    """The pump to the customer's channel; the workflow provides `ConversationCore`."""

    _channel_sending: bool = False
    _channel_watch: ChannelWatch | None = None

    def _start_channel_pump(self) -> asyncio.Task[None] | None:
        if self._input.channel is None:
            return None
        self._channel_sending = False
        self._channel_watch = ChannelWatch()
        return asyncio.create_task(self._channel_pump(self._input.channel, self._channel_watch))

    def _channel_next(self) -> Message | None:
        through = self.conv.channel_through
        for message in self.conv.recent:
            if message.seq > through and _for_channel(message):
                return message
        return None

    def _channel_idle(self) -> bool:
        watch = self._channel_watch
        return self._input.channel is None or (
            not self._channel_sending
            and self._channel_next() is None
            and (watch is None or watch.lost is None)
        )

    def _ack_for(self, message: Message) -> tuple[int, dict[str, Any] | None]:
        """The newest customer entry before `message` not acknowledged yet, and its ack."""
        for entry in reversed(self.conv.recent):
            if entry.seq < message.seq and entry.sender == "customer":
                if entry.seq <= self.conv.channel_acked:
                    break
                return entry.seq, (entry.data or {}).get("ack") or {}
        return self.conv.channel_acked, None

    async def _channel_pump(self, channel: ChannelRef, watch: ChannelWatch) -> None:
        """Deliver entries in order, each retried with backoff until sent or refused for good;
        tell those that left the tail before their turn (patch `channel-backlog`)."""
        watching = asyncio.create_task(self._channel_watching(watch))
        try:
            while True:
                await workflow.wait_condition(
                    lambda: self._channel_next() is not None or watch.lost is not None
                )
                watch.look(self.conv.recent, self.conv.channel_through)  # as it is now
                lost = watch.take_lost()
                if lost is not None and patches.patched(patches.CHANNEL_BACKLOG):
                    await self._tell_backlog(channel.platform, watch, lost)
                    continue
                message = self._channel_next()  # (before the patch: the lost ones skipped)
                if message is not None:
                    watch.taken(message.seq)
                    await self._channel_send(channel, message)
        finally:
            watching.cancel()

    async def _channel_watching(self, watch: ChannelWatch) -> None:
        """Look at the tail whenever it has new entries, whatever the pump is waiting for."""
        while True:
            await workflow.wait_condition(lambda: watch.behind(self.conv.recent))
            watch.look(self.conv.recent, self.conv.channel_through)

    async def _channel_send(self, channel: ChannelRef, message: Message) -> None:
        acked, ack = self._ack_for(message)
        self._channel_sending = True
        try:
            result = await workflow.execute_activity_method(
                ChannelSender.send,
                ChannelSend(
                    conversation_id=self._input.conversation_id,
                    bot=self._input.bot,
                    channel=channel,
                    message=message,
                    last_customer_at=self.conv.last_customer_at,
                    ack=ack,
                ),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=CHANNEL_GIVE_UP,
                retry_policy=CHANNEL_RETRY,
            )
        except ActivityError as exc:
            cause = getattr(exc.cause, "message", None) or str(exc)
            result = ChannelSent(outcome="failed", detail=f"gave up: {cause}")
        finally:
            self._channel_sending = False
        self.conv.channel_through = max(self.conv.channel_through, message.seq)
        self.conv.channel_acked = max(self.conv.channel_acked, acked)
        notice = _notice(channel.platform, result)
        if notice is not None:
            async with self._lock:  # not in the middle of another handler's turn
                self._append(
                    "system",
                    kind=NOT_SENT,
                    text=notice,
                    data={"seq": message.seq, "outcome": result.outcome, "detail": result.detail},
                )

    async def _tell_backlog(self, platform: str, watch: ChannelWatch, lost: Backlog) -> None:
        """One notice for the entries that left the tail unsent; the pump goes on past them."""
        self._channel_sending = True  # busy until the notice is in: the run does not close
        try:
            async with self._lock:  # not in the middle of another handler's turn
                through = self.conv.channel_through
                watch.look(self.conv.recent, through)  # what left while waiting for the lock
                lost = lost.joined(watch.take_lost())
                recent = self.conv.recent
                if len(recent) >= RECENT_MESSAGES and recent[0].seq > through:
                    oldest = recent[0]  # the notice pushes it out of the full tail
                    if _for_channel(oldest):
                        lost = lost.joined(Backlog(oldest.seq, oldest.seq, count=1))
                self._append(
                    "system", kind=NOT_SENT, text=_backlog_notice(platform, lost), data=lost.data()
                )
                self.conv.channel_through = max(through, lost.to_seq)
        finally:
            self._channel_sending = False


def _notice(platform: str, result: ChannelSent) -> str | None:
    """What the agent reads when an entry did not reach the customer (pt-BR)."""
    name = PLATFORM_NAMES.get(platform, platform)
    match result.outcome:
        case "window_closed":
            return (
                f"Janela de 24 horas do {name} fechada: a mensagem não foi entregue ao cliente."
                " Ele precisa escrever de novo para reabrir a conversa."
            )
        case "template":
            return (
                f"Janela de 24 horas do {name} fechada: a mensagem não foi entregue; enviamos ao"
                f' cliente o modelo aprovado "{result.detail}" convidando-o a responder.'
            )
        case "failed":
            return f"Mensagem não entregue ao cliente no {name}: {result.detail}"
    return None


def _backlog_notice(platform: str, lost: Backlog) -> str:
    """What the agent reads about entries that left the tail unsent (pt-BR)."""
    name = PLATFORM_NAMES.get(platform, platform)
    why = "na fila enquanto um envio anterior falhava."
    if lost.count == 0:
        return (
            f"Algumas mensagens (até {lost.unverified}) podem não ter sido entregues ao cliente"
            f" no {name}: ficaram {why}"
        )
    if lost.count == 1:
        text = f"1 mensagem não foi entregue ao cliente no {name}: ficou {why}"
    else:
        text = f"{lost.count} mensagens não foram entregues ao cliente no {name}: ficaram {why}"
    if lost.unverified:
        text += f" Outras (até {lost.unverified}) também podem não ter sido entregues."
    return text
