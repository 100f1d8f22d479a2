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
holds may pile up behind it, and the oldest leave it unsent. The tail tells which entries it
drops (`_left_tail`, from workflows/message_log.py), so those for the channel the pump has not
reached are known exactly (customers' entries and entries for the agents only never counted,
nor the entry being sent); the pump tells them in one `delivery_failure` notice (outcome
`backlog`: how many, from which seq to which) and goes on past them (patch `channel-backlog`,
asked only when such a loss is met; before it they were skipped in silence). The loss is the
run's own, never carried: a run closes or continues as new only with the pump idle, and a loss
not yet told keeps it busy.

A send that gives up (the platform refused or did not answer for CHANNEL_GIVE_UP) says the
platform is down, not that one message was bad: the entries waiting behind it at that moment
(in the tail, and any that left it meanwhile) are told undelivered in one more notice (outcome
`gave_up_behind`: how many, from which seq to which, `after_seq` the one that gave up) and
passed over, so a platform down costs one hour, not one hour per waiting entry, and the
conversation can close (patch `channel-give-up-behind`, asked only when a give-up has entries
behind it; before it each got its own hour). Entries appended after that are tried again as
usual, each with its own hour: the platform may be back. This is what users of Twilio Flex or
Blip expect: a message that did not go out is marked failed soon, with its reason, the ones
after it too, and nothing is sent later on its own; the agent decides what to send again.
`channel_acked` stays, for the entry given up too (the receipt that went with its attempts may
not have been taken), so the next send acknowledges the customer's newest message (blue ticks
once the platform is back).

An entry sent acknowledges the customer's newest message before it (`_ack_for`); a customer
message whose turn puts nothing for the channel in the outbox is acknowledged on its own
(workflows/channel_acks.py, patch `channel-ack-alone`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.channel_send import (
        PLATFORM_UNAVAILABLE,
        ChannelSend,
        ChannelSender,
        ChannelSent,
    )
    from omni.desk import AGENT_ONLY_KINDS
    from workflows.contracts import ChannelRef, Message

from workflows import patches
from workflows.channel_acks import ChannelAcks
from workflows.transcript_tail import RECENT_MESSAGES

CHANNEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
CHANNEL_GIVE_UP = timedelta(hours=1)
"""A platform down for longer than this: the entry is reported undelivered to the agent."""
_HOURS = int(CHANNEL_GIVE_UP.total_seconds() // 3600)
GIVE_UP_PT = f"{_HOURS} hora{'s' if _HOURS != 1 else ''}"
"""CHANNEL_GIVE_UP in the agent's words ("1 hora")."""
GAVE_UP = "gave up: "
"""How the `detail` of a send given up after CHANNEL_GIVE_UP begins (data for operators)."""
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
    count: int

    def joined(self, other: Backlog | None) -> Backlog:
        if other is None:
            return self
        return Backlog(
            min(self.from_seq, other.from_seq),
            max(self.to_seq, other.to_seq),
            self.count + other.count,
        )

    def data(self, outcome: str = "backlog") -> dict[str, Any]:
        return {
            "from_seq": self.from_seq,
            "to_seq": self.to_seq,
            "outcome": outcome,
            "count": self.count,
        }


class ChannelOutbox(ChannelAcks):
    """The pump to the customer's channel; the workflow provides `ConversationCore`."""

    _channel_in_flight: int = 0
    """The seq of the entry being sent (0: none)."""
    _channel_lost: Backlog | None = None
    """Entries for the channel that left the tail unsent, not told yet (this run's)."""

    def _start_channel_pump(self) -> asyncio.Task[None] | None:
        if self._input.channel is None:
            return None
        self._channel_sending = False
        self._start_acks()
        return asyncio.create_task(self._channel_pump(self._input.channel))

    def _channel_next(self) -> Message | None:
        through = self.conv.channel_through
        for message in self.conv.recent:
            if message.seq > through and _for_channel(message):
                return message
        return None

    def _channel_idle(self) -> bool:
        return self._input.channel is None or (
            not self._channel_sending
            and self._channel_next() is None
            and self._channel_lost is None
            and not self._ack_due()
        )

    def _channel_waiting(self) -> bool:
        return self._channel_next() is not None or self._channel_lost is not None

    def _left_tail(self, dropped: list[Message]) -> None:
        """Entries the tail let go: those for the channel the pump has not reached are lost
        to it (told by `_tell_backlog`)."""
        if not dropped or self._input.channel is None:
            return
        through, in_flight = self.conv.channel_through, self._channel_in_flight
        for message in dropped:
            if message.seq > through and message.seq != in_flight and _for_channel(message):
                lost = Backlog(message.seq, message.seq, 1)
                self._channel_lost = lost.joined(self._channel_lost)

    def _ack_for(self, message: Message) -> tuple[int, dict[str, Any] | None]:
        """The newest customer entry before `message` not acknowledged yet, and its ack."""
        for entry in reversed(self.conv.recent):
            if entry.seq < message.seq and entry.sender == "customer":
                if entry.seq <= self.conv.channel_acked:
                    break
                return entry.seq, (entry.data or {}).get("ack") or {}
        return self.conv.channel_acked, None

    async def _channel_pump(self, channel: ChannelRef) -> None:
        """Deliver entries in order, each retried with backoff until sent or refused for good;
        tell those that left the tail before their turn (patch `channel-backlog`)."""
        while True:
            await workflow.wait_condition(
                lambda: (
                    self._channel_next() is not None
                    or self._channel_lost is not None
                    or self._ack_due()
                )
            )
            if self._channel_lost is not None:
                if patches.patched(patches.CHANNEL_BACKLOG):
                    await self._tell_backlog(channel.platform)
                    continue
                self._channel_lost = None  # before the patch: passed over in silence
            message = self._channel_next()
            if message is not None:
                await self._channel_send(channel, message)
            elif self._ack_due():
                await self._ack_alone(channel)

    async def _channel_send(self, channel: ChannelRef, message: Message) -> None:
        acked, ack = self._ack_for(message)
        self._channel_sending, self._channel_in_flight = True, message.seq
        gave_up = False
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
        except ActivityError as exc:  # only retryable errors: CHANNEL_GIVE_UP has passed
            gave_up = _platform_unavailable(exc)  # not a bug of ours: one entry failed, not all
            cause = getattr(exc.cause, "message", None) or str(exc)
            result = ChannelSent(outcome="failed", detail=f"{GAVE_UP}{cause}")
        finally:
            self._channel_sending, self._channel_in_flight = False, 0
        cut = self.conv.seq  # behind it now: what handlers append while we wait is tried
        self.conv.channel_through = max(self.conv.channel_through, message.seq)
        if not gave_up:  # the platform down: its receipt may not have gone, the next entry's
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
                if gave_up:
                    self._tell_behind(channel.platform, message.seq, cut)
                    self._acks_given_up()  # the next entry sent carries the newest receipt

    def _tell_behind(self, platform: str, gave_up: int, cut: int) -> None:
        """After the send of `gave_up` gave up: the entries for the channel waiting behind it
        when it did (seqs up to `cut`) are told in one notice and passed over (patch
        `channel-give-up-behind`; before it each was sent in turn, with its own hour). Called
        with the lock held, right after that send's own notice."""
        through = self.conv.channel_through
        behind = self._channel_lost  # those that left the tail during the hour
        for message in self.conv.recent:
            if through < message.seq <= cut and _for_channel(message):
                behind = Backlog(message.seq, message.seq, 1).joined(behind)
        if behind is None or not patches.patched(patches.CHANNEL_GIVE_UP_BEHIND):
            return
        self._channel_lost = None
        self.conv.channel_through = max(through, behind.to_seq)  # before the notice's push
        data = {**behind.data("gave_up_behind"), "after_seq": gave_up}
        self._append("system", kind=NOT_SENT, text=_behind_notice(platform, behind), data=data)

    async def _tell_backlog(self, platform: str) -> None:
        """One notice for the entries that left the tail unsent; the pump goes on past them."""
        self._channel_sending = True  # busy until the notice is in: the run does not close
        try:
            async with self._lock:  # not in the middle of another handler's turn
                lost, self._channel_lost = self._channel_lost, None  # grown while waiting
                assert lost is not None
                through, recent = self.conv.channel_through, self.conv.recent
                oldest = recent[0] if len(recent) >= RECENT_MESSAGES else None
                if oldest is not None and oldest.seq > through and _for_channel(oldest):
                    lost = lost.joined(Backlog(oldest.seq, oldest.seq, 1))  # the notice's push
                self.conv.channel_through = max(through, lost.to_seq)
                text = _backlog_notice(platform, lost)
                self._append("system", kind=NOT_SENT, text=text, data=lost.data())
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
            detail = result.detail or ""
            if detail.startswith(GAVE_UP):  # the data keeps the technical detail as it was
                detail = f"tentamos por {GIVE_UP_PT}, sem sucesso ({detail.removeprefix(GAVE_UP)})"
            return f"Mensagem não entregue ao cliente no {name}: {detail}"
    return None


def _backlog_notice(platform: str, lost: Backlog) -> str:
    """What the agent reads about entries that left the tail unsent (pt-BR)."""
    stayed = "ficou" if lost.count == 1 else "ficaram"
    why = f"{stayed} na fila enquanto um envio anterior falhava."
    return _undelivered(platform, lost.count, why)


def _platform_unavailable(error: ActivityError) -> bool:
    """The send gave up because the platform was unavailable (transport errors, 429, 5xx,
    attempts out of time: activities/channel_send.py `PLATFORM_UNAVAILABLE`), not because of a
    bug or a store error of ours, which fails that entry only."""
    cause: BaseException | None = error.cause
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == PLATFORM_UNAVAILABLE:
            return True
        cause = cause.__cause__
    return False


def _behind_notice(platform: str, behind: Backlog) -> str:
    """What the agent reads about the entries passed over behind a send that gave up (pt-BR)."""
    name = PLATFORM_NAMES.get(platform, platform)
    return _undelivered(platform, behind.count, f"o {name} ficou indisponível por {GIVE_UP_PT}.")


def _undelivered(platform: str, count: int, why: str) -> str:
    """ "N mensagens não foram entregues ao cliente no <platform>: <why>" (pt-BR)."""
    name = PLATFORM_NAMES.get(platform, platform)
    if count == 1:
        return f"1 mensagem não foi entregue ao cliente no {name}: {why}"
    return f"{count} mensagens não foram entregues ao cliente no {name}: {why}"
