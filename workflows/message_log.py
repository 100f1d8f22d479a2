"""The conversation's transcript and its SQL log, mixed into ConversationWorkflow.

`_append` adds an entry to the transcript tail the workflow keeps (`conv.recent`) and to the
outbox; one "pump" coroutine records the outbox and the status in the SQL log, in order, off the
reply's hot path. `_set_status` also sets the search attributes the Temporal UI filters on.

Written ahead. A request marked `log_ahead` (the API's customer messages, agent messages,
pickups and finishes) comes from a caller that writes the Update's entries, and the row's
`LogStatus`, to the log itself before it answers. From the run's first such request on ("ahead
mode"), those entries make the pump record nothing: it records when something no caller wrote
waits (timers' notices, a transfer, notes, a status that changed outside such an Update) or 50
entries wait, and then the whole outbox, at once, as an activity, never between a handler's
start and its end (so what it records is never older than what a caller wrote with the same
seq); workflows/written_ahead.py decides. Everything is recorded once more before the run
closes or continues as new (the backstop, in case a caller died between its Update and its
write; the writes are idempotent; a local activity from code version 4 on, in the workflow
task that ends the run), and at once when a caller says its write failed
(`log_behind`). So a conversation costs no timer, workflow task or record per message; runs
without such requests keep the batching below, unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.conversation_log import ConversationLog
    from activities.first_turn import QueuedRecord, wait_notice
    from workflows.contracts import (
        FinishResult,
        LogStatus,
        Message,
        RecordBatch,
        Sender,
        Status,
        TurnReply,
    )
    from workflows.search_attributes import AGENT, SERVICE, STATUS
    from workflows.written_ahead import WrittenAhead

from workflows import patches, transcript_tail
from workflows.core import UNSET, Unset

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
    from workflows.queueing import Queued
else:
    _Core = object

RECORD_BATCHING = "record-batching"
"""Patch id: recording waits RECORD_BATCH_DELAY to batch (histories before it replay without)."""
RECORD_LOCAL = "record-local"
"""Patch id: a batch recorded after the batching delay is a local activity (before: an activity)."""
RECORD_FIRST_TURN = "record-first-turn"
"""Patch id: a new run's initial status is recorded with its first turn's batch."""
HAND_OVER_RECORDS = "hand-over-records"
"""Patch id: a new run queued in its first turn has that turn recorded by the hand-over's local
activity (`QueuedRecord`), not by a batch after the delay (its timer, workflow task, marker)."""
RECORD_BATCH_DELAY = timedelta(milliseconds=200)
"""The delay of conversations started before `ConversationInput.record_delay_ms` (its default)."""
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
LOCAL_RECORD_BUDGET = timedelta(seconds=10)
"""The most a local recording (one attempt; its write waits for a locked database for 80 % of
it at most: activities/conversation_log.py) may hold its workflow task; past it, or failed, a
regular activity retried by the server records (idempotent: rows by (conversation, seq))."""
ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)
BACKSTOP_BUDGET = timedelta(seconds=3)
"""The same for ahead mode's backstop, shorter: it holds the run's last answer too."""


async def _recorded_here(record: RecordBatch, budget: timedelta = LOCAL_RECORD_BUDGET) -> bool:
    """Record the batch as one local attempt within `budget`; False if it failed (a locked
    database), for the caller to hand it to a regular activity, which the server retries
    (core does not end local retries at the schedule-to-close timeout)."""
    try:
        await workflow.execute_local_activity_method(
            ConversationLog.record,
            record,
            start_to_close_timeout=budget,
            schedule_to_close_timeout=budget,
            retry_policy=ONE_ATTEMPT,
        )
    except (ActivityError, ApplicationError) as exc:  # a last attempt's own error comes bare
        workflow.logger.warning("local recording failed, handing it to an activity: %s", exc)
        return False
    return True


class MessageLog(_Core):
    """The transcript's outbox and its recording; the workflow provides `ConversationCore`."""

    _outbox: list[Message]
    _status_dirty: bool
    """The status changed since it was last recorded."""
    _recording: bool
    """A batch is being recorded (the run does not end meanwhile)."""
    _answered_a_customer: bool
    """The last outbox is a customer turn's reply: it may wait a moment to batch."""
    _recorded: tuple[int, tuple[Any, ...]] | None
    """Recorded by the hand-over (`_took_recorded`): the messages up to this seq and this
    status; the pump leaves them out."""
    _written: WrittenAhead
    """Ahead mode: what callers write themselves (workflows/written_ahead.py)."""

    def _start_message_log(self) -> None:
        self._outbox = []
        self._status_dirty = True
        self._recording = False
        self._answered_a_customer = False
        self._recorded = None
        self._written = WrittenAhead()

    def _log_idle(self) -> bool:
        """Nothing left to record (in ahead mode: by the pump itself, the backstop included)."""
        if self._written.on:
            return not self._recording and self._written.idle(self._outbox, self._log_status())
        return not self._outbox and not self._status_dirty and not self._recording

    def _pump_due(self) -> bool:
        """Something to record now (ahead mode: never while a handler runs)."""
        if not self._written.on:
            return bool(self._outbox) or self._status_dirty
        if not workflow.all_handlers_finished():
            return False
        return self._written.due(self._outbox, self._log_status(), self.conv.state.ended)

    def _takes_ahead(self, log_ahead: bool) -> bool:
        """Whether a request's entries are its caller's to write (patch `log-ahead`); asked
        once the handler holds the lock (an old-mode batch may be under way meanwhile: the
        pump then writes the status again, guarded, after it)."""
        if log_ahead and not self._written.on and patches.patched(patches.LOG_AHEAD):
            self._written.on = True
        return log_ahead and self._written.on

    def _written_ahead(self, messages: list[Message]) -> LogStatus | None:
        """Entries a `log_ahead` caller writes itself (after `_takes_ahead`); the row's status
        to write with them when they are the newest (else what came after them is the pump's
        to record)."""
        status = self._log_status()
        if not self._written.mark(messages, self._outbox, self.conv.seq, status):
            return None
        return LogStatus(status=status[0], block=status[1], service=status[2], agent=status[3])

    def _finished_ahead(self, since: int) -> FinishResult:
        """A finish's answer to a caller who writes its entries: those after `since` (all of
        them: the log keeps notes too) and the row's status."""
        logged = transcript_tail.between(self.conv.recent, since)
        return FinishResult(status=self.conv.status, logged=logged, log=self._written_ahead(logged))

    def _ahead_of(self, reply: TurnReply, ahead: bool) -> TurnReply:
        """A customer turn's reply; for a caller who writes it (`ahead`), with the row."""
        if not ahead:
            return reply
        return reply.model_copy(update={"log": self._written_ahead(reply.entries())})

    @workflow.signal
    def log_behind(self) -> None:
        """A `log_ahead` caller could not write: record what it should have, now."""
        self._written.forget()

    def _append(
        self,
        sender: Sender,
        *,
        text: str | None,
        kind: str = "text",
        options: list[str] | None = None,
        data: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> Message:
        self.conv.seq += 1
        message = Message(
            seq=self.conv.seq,
            sender=sender,
            kind=kind,
            text=text,
            options=options,
            data=data,
            message_id=message_id,
            at=workflow.now(),
        )
        self._left_tail(transcript_tail.keep(self.conv.recent, message))
        self._outbox.append(message)
        return message

    def _set_status(
        self,
        status: Status,
        *,
        service: str | None | Unset = UNSET,
        agent: str | None | Unset = UNSET,
    ) -> None:
        """Change the status (and service/agent), for the SQL log and the Temporal UI's filters."""
        updates = []
        if status != self.conv.status:
            self.conv.status = status
            updates.append(STATUS.value_set(status))
        if not isinstance(service, Unset):
            updates.append(SERVICE.value_set(service) if service else SERVICE.value_unset())
        if not isinstance(agent, Unset):
            updates.append(AGENT.value_set(agent) if agent else AGENT.value_unset())
        if updates:
            self._status_dirty = True
            workflow.upsert_search_attributes(updates)

    async def _pump(self) -> None:
        """Record new messages and status in the SQL log, in order, one batch at a time."""
        if self._input.carried is None and patches.patched(RECORD_FIRST_TURN):
            # The API wrote the conversation's row before answering its first message: the
            # initial status goes with the first turn's batch instead of an activity of its own.
            await workflow.wait_condition(
                lambda: self._answered_a_customer or self.conv.state.ended
            )
        while True:
            await workflow.wait_condition(self._pump_due)
            if self._written.on:
                await self._record_outbox()
                continue
            if self._recorded is not None:  # the hand-over recorded the first turn
                through, status = self._recorded
                self._recorded = None
                self._outbox = [m for m in self._outbox if m.seq > through]
                self._status_dirty = status != self._log_status()
                if not self._outbox and not self._status_dirty:
                    self._answered_a_customer = False
                    continue
            batching = self._answered_a_customer and not self.conv.state.ended
            self._answered_a_customer = False
            batched = batching and patches.patched(RECORD_BATCHING)
            if batched:
                # A customer turn's messages went back in the reply: gather a moment's worth
                # into one activity, since an activity scheduled with every reply slows the
                # customer's next message (bench/README.md). What only the log carries (agent
                # messages, timers' messages) is recorded at once.
                await workflow.sleep(timedelta(milliseconds=self._input.record_delay_ms))
            batch, self._outbox = self._outbox, []
            status, block, service, agent = self._log_status()
            self._status_dirty = False
            self._recording = True
            workflow.set_current_details(self._details())
            # After the batching delay the batch is a local activity (patch `record-local`):
            # one marker instead of an activity's three events and the workflow task that
            # takes its result. It holds this run's workflow task while it writes (an Update
            # arriving then waits for it), at most LOCAL_RECORD_BUDGET before a regular
            # activity takes over. Recorded at once (an agent's message, a pickup), it stays
            # an activity: a local one would hold that Update's answer until the write is done.
            record = self._batch((status, block, service, agent), batch)
            try:
                if not (batched and patches.patched(RECORD_LOCAL) and await _recorded_here(record)):
                    await workflow.execute_activity_method(
                        ConversationLog.record,
                        record,
                        start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=RECORD_RETRY,
                    )
            finally:
                self._recording = False
            if self._written.on:  # it began meanwhile: this batch's status was not guarded,
                self._written.logged = None  # so the next (guarded) one writes the status again

    async def _record_outbox(self) -> None:
        """Ahead mode: the whole outbox and the status, at once, as an activity (a local one
        would hold the answer of the Update that woke the pump). Its status is written only
        if no caller wrote a newer one first (`through`). The backstop before the run closes
        or continues as new is a local activity (patch `backstop-local`): the run's last
        answer waits for its write, and the run saves an activity's three events and the
        workflow task that takes its result; past BACKSTOP_BUDGET an activity takes over."""
        batch, self._outbox = self._outbox, []
        status = self._log_status()
        self._written.taking(batch, status)
        self._answered_a_customer = self._status_dirty = False
        self._recording = True
        workflow.set_current_details(self._details())
        record = self._batch(status, batch, through=self.conv.seq)
        last = self.conv.state.ended or self._written.closing
        try:
            if not (
                last
                and patches.patched(patches.BACKSTOP_LOCAL)
                and await _recorded_here(record, BACKSTOP_BUDGET)
            ):
                await workflow.execute_activity_method(
                    ConversationLog.record,
                    record,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RECORD_RETRY,
                )
            self._written.recorded = status
        finally:
            self._recording = False

    def _batch(
        self, status: tuple[Any, ...], messages: list[Message], *, through: int | None = None
    ) -> RecordBatch:
        return RecordBatch(
            conversation_id=self._input.conversation_id,
            workflow_id=workflow.info().workflow_id,
            bot=self._input.bot,
            bot_version=self._input.bot_version,
            contact_id=self._input.contact.id,
            status=status[0],
            block=status[1],
            service=status[2],
            agent=status[3],
            messages=messages,
            through=through,
        )

    def _log_status(self) -> tuple[Any, ...]:
        """What a batch records besides messages: status, block, service, agent."""
        handoff = self.conv.handoff
        return (
            self.conv.status,
            self.conv.state.block,
            handoff.service.service_name if handoff else None,
            handoff.agent_name if handoff else None,
        )

    def _queued_record(self, block_text: str | None, notice: bool) -> QueuedRecord | None:
        """A new run's first turn, for the hand-over to record once it queues the customer
        (patch `hand-over-records`); None otherwise. Reserves the seqs of the block's text and
        the wait notice: they are the workflow's once the answer is back (`_took_recorded`), a
        gap if the hand-over fails for good (a timed-out attempt may still commit them)."""
        first_turn = self._input.carried is None and not self.conv.answered
        if not first_turn or self._recording or not patches.patched(RECORD_FIRST_TURN):
            return None  # (the pump's first-turn wait: nothing recorded before this turn)
        if not patches.patched(HAND_OVER_RECORDS):
            return None
        at = workflow.now()
        first_seq = self.conv.seq + 1
        messages = list(self._outbox)
        if block_text is not None:
            self.conv.seq += 1
            messages.append(Message(seq=self.conv.seq, sender="bot", text=block_text, at=at))
        notice_seq = None
        if notice:
            self.conv.seq += 1
            notice_seq = self.conv.seq
        batch = RecordBatch(
            conversation_id=self._input.conversation_id,
            workflow_id=workflow.info().workflow_id,
            bot=self._input.bot,
            bot_version=self._input.bot_version,
            contact_id=self._input.contact.id,
            status="waiting",
            block=self.conv.state.block,
            messages=messages,
        )
        return QueuedRecord(batch=batch, first_seq=first_seq, notice_seq=notice_seq, at=at)

    def _took_recorded(self, record: QueuedRecord | None, queued: Queued | None) -> None:
        """After the hand-over: its recorded messages join the transcript at their reserved
        seqs; reserved seqs left unused are given back (unless something came after them)."""
        if record is None:
            return
        if queued is None or queued.recorded_through is None:
            if self.conv.seq == record.reserved_through():
                self.conv.seq = record.first_seq - 1
            return
        for message in record.batch.messages:
            if message.seq >= record.first_seq:
                self._keep(message)
        estimate = queued.estimate
        if (
            record.notice_seq is not None
            and estimate
            and estimate.estimated_wait_seconds is not None
        ):
            self._keep(wait_notice(record.notice_seq, record.at, estimate))
        elif record.notice_seq is not None and self.conv.seq == record.notice_seq:
            self.conv.seq -= 1  # no notice after all
        status = ("waiting", record.batch.block, queued.target.service_name, None)
        if self._written.on:  # the pump leaves them out from now on
            through = queued.recorded_through
            self._outbox = [m for m in self._outbox if m.seq > through]
            self._written.recorded = self._written.logged = status
            return
        self._recorded = (queued.recorded_through, status)

    def _keep(self, message: Message) -> None:
        self._left_tail(transcript_tail.keep(self.conv.recent, message))  # at its reserved seq
        self._outbox.append(message)

    def _details(self) -> str:
        where = f"block `{self.conv.state.block}`" if self.conv.state.block else "no block"
        return (
            f"**{self.conv.status}** · bot `{self._input.bot}` v{self._input.bot_version} · {where}"
            f" · {self.conv.seq} messages"
        )
