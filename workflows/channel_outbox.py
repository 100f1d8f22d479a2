"""The customer's channel (WhatsApp, Telegram), mixed into ConversationWorkflow.

A conversation started from a channel webhook carries a `ChannelRef` in its input; for it, one
pump hands every transcript entry that is not the customer's (bot replies, menus, cards,
notices, agent messages; never an internal note) to the
`channel_send` activity, one at a time, in seq order, retried
with backoff. `conv.channel_through` (carried through continue-as-new) says how far it got.
What could not be delivered becomes a `delivery_failure` notice in the transcript, for the
agent and the supervisor (it is never sent to the channel). Conversations without a channel
(and every history recorded before this module) start no pump and schedule nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.channel_send import ChannelSend, ChannelSender, ChannelSent
    from omni.desk import AGENT_ONLY_KINDS
    from workflows.contracts import Message

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


class ChannelOutbox(_Core):
    """The pump to the customer's channel; the workflow provides `ConversationCore`."""

    _channel_sending: bool = False

    def _start_channel_pump(self) -> asyncio.Task[None] | None:
        if self._input.channel is None:
            return None
        self._channel_sending = False
        return asyncio.create_task(self._channel_pump())

    def _channel_next(self) -> Message | None:
        through = self.conv.channel_through
        for message in self.conv.recent:
            sendable = message.sender != "customer" and message.kind not in UNSENT_KINDS
            if message.seq > through and sendable:
                return message
        return None

    def _channel_idle(self) -> bool:
        return self._input.channel is None or (
            not self._channel_sending and self._channel_next() is None
        )

    def _ack_for(self, message: Message) -> tuple[int, dict[str, Any] | None]:
        """The newest customer entry before `message` not acknowledged yet, and its ack."""
        for entry in reversed(self.conv.recent):
            if entry.seq < message.seq and entry.sender == "customer":
                if entry.seq <= self.conv.channel_acked:
                    break
                return entry.seq, (entry.data or {}).get("ack") or {}
        return self.conv.channel_acked, None

    async def _channel_pump(self) -> None:
        """Deliver entries in order, each retried with backoff until sent or refused for good."""
        channel = self._input.channel
        assert channel is not None
        while True:
            await workflow.wait_condition(lambda: self._channel_next() is not None)
            message = self._channel_next()
            assert message is not None
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
                        data={
                            "seq": message.seq,
                            "outcome": result.outcome,
                            "detail": result.detail,
                        },
                    )


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
