"""Acknowledgements on their own (patch `channel-ack-alone`), mixed into ChannelOutbox.

An entry sent acknowledges the customer's newest message before it (`_ack_for` in
workflows/channel_outbox.py: WhatsApp's read receipt, Telegram's typing or callback answer). A
customer message whose turn puts nothing for the channel in the outbox (the voicemail time, the
queue, an agent yet to answer) is acknowledged on its own once its turn is over (no handler
holds the lock, nothing waits to be sent): one `channel_ack` for every message waiting then,
none when the platform needs nothing (`alone_acks`: Telegram without a button press), none when
a reply carries it (patch `channel-ack-alone`, asked only when such an ack is first due; before
it the customer's phone showed no blue ticks until the next entry).

`channel_ack` has one attempt, as the receipt that goes with a send (`_send` drops a failing
one at once): the pump is serial, so an entry that becomes due meanwhile waits for that one
attempt only (ACK_TIMEOUT). `conv.channel_acked` moves when the activity completes: the
platform took the receipts, or refused them for good (4xx, logged and passed over: sending
them again would be refused again). When the activity fails (429, 5xx, no answer) it stays,
the messages are marked checked for this run (`_acks_checked`) and the next entry sent carries
the receipt, once the platform is back. A send that gave up (the platform down for
CHANNEL_GIVE_UP) leaves `channel_acked` where it was (workflows/channel_outbox.py) and marks
the messages the same way: no acknowledgement alone goes to a platform just found down, and the
next entry sent carries the newest one's receipt. Both marks are the run's own; a run
continued as new starts with every customer message it carried marked (it continued with the
pump idle: what was not acknowledged then waits for the next send).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.channel_send import ChannelAck, ChannelSender, alone_acks
    from workflows.contracts import ChannelRef, Message

from workflows import patches

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object

ACK_RETRY = RetryPolicy(maximum_attempts=1)
"""An acknowledgement on its own is tried once, as the one that goes with a send: entries wait
behind it, and what the platform did not take goes with the next entry."""
ACK_TIMEOUT = timedelta(seconds=30)
"""The start-to-close timeout of the one attempt: an entry due meanwhile waits at most this
long behind it, when the worker running it is lost. A live attempt stops sending 5 s before
(activities/channel_send.py ATTEMPT_MARGIN_SECONDS: 25 s) and each request waits at most
SEND_TIMEOUT_SECONDS (15 s) for the platform."""


class ChannelAcks(_Core):
    """`_ack_due` and `_ack_alone` for the pump; ChannelOutbox says what waits for the channel."""

    _channel_sending: bool = False
    """An activity of the pump is in flight (a send, an acknowledgement) or the pump is
    appending a backlog notice: the run does not close nor continue as new meanwhile."""
    _acks_checked: int = 0
    """Customer entries up to this seq get no acknowledgement on their own (this run's): none
    was needed, the platform did not take it, or a send gave up after them."""
    _acks_alone: bool = True
    """False once a run from before patch `channel-ack-alone` had one due: none in this run."""

    def _channel_waiting(self) -> bool:
        """Whether something for the channel waits (an entry to send, a loss to tell)."""
        raise NotImplementedError

    def _start_acks(self) -> None:
        """A run continued as new: the customer's entries it carried are checked."""
        carried = self._input.carried
        if carried is not None:
            seqs = [m.seq for m in carried.recent if m.sender == "customer"]
            self._acks_checked = max(seqs, default=0)

    def _acks_given_up(self) -> None:
        """A send gave up: the customer's entries so far get no acknowledgement alone (the
        platform was just found down); the next entry sent carries the newest one's."""
        seqs = [m.seq for m in self.conv.recent if m.sender == "customer"]
        self._acks_checked = max(self._acks_checked, max(seqs, default=0))

    def _unacked(self) -> list[Message]:
        """The customer's entries not acknowledged (nor checked), oldest first."""
        floor = max(self.conv.channel_acked, self._acks_checked)
        return [m for m in self.conv.recent if m.sender == "customer" and m.seq > floor]

    def _ack_due(self) -> bool:
        """A customer entry no entry will acknowledge: its turn is over (no handler holds the
        lock) and nothing for the channel waits to be sent after it."""
        if self._input.channel is None or not self._acks_alone or self._lock.locked():
            return False
        floor = max(self.conv.channel_acked, self._acks_checked)
        for entry in reversed(self.conv.recent):
            if entry.sender == "customer":
                return entry.seq > floor and not self._channel_waiting()
        return False

    async def _ack_alone(self, channel: ChannelRef) -> None:
        """Acknowledge the customer's entries that no entry will: one `channel_ack` for all
        that wait (more arriving meanwhile wait for the next), nothing when the platform needs
        nothing for them. One attempt: not taken, it goes with the next entry sent."""
        waiting = self._unacked()
        newest = waiting[-1].seq
        acks = alone_acks(channel.platform, [(m.data or {}).get("ack") or {} for m in waiting])
        if not acks:  # no command: nothing to patch
            self._acks_checked = newest
            return
        if not patches.patched(patches.CHANNEL_ACK_ALONE):
            self._acks_alone = False  # recorded before it: acks went with entries only
            return
        self._channel_sending = True
        try:
            await workflow.execute_activity_method(
                ChannelSender.ack,
                ChannelAck(
                    conversation_id=self._input.conversation_id,
                    bot=self._input.bot,
                    channel=channel,
                    acks=acks,
                ),
                start_to_close_timeout=ACK_TIMEOUT,
                retry_policy=ACK_RETRY,
            )
        except ActivityError as exc:  # the next entry sent carries it
            workflow.logger.info("acknowledgement on %s not taken: %s", channel.platform, exc)
            self._acks_checked = max(self._acks_checked, newest)
        else:
            self.conv.channel_acked = max(self.conv.channel_acked, newest)
        finally:
            self._channel_sending = False
