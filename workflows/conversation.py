"""ConversationWorkflow: one durable Temporal workflow per customer conversation.

The workflow owns the conversation's state (flow position, variables, transcript tail) and maps
the interpreter's waits to Temporal: customer messages are Updates (deduplicated by the channel's
message id), question timeouts are timers, HTTP blocks and the SQL message log are activities.
Messages are recorded in order by one "pump" coroutine, off the reply's hot path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.conversation_log import ConversationLog
    from activities.http_call import HttpCall, call_http
    from transbordo.temporal import STATUS
    from workflows import interpreter
    from workflows.contracts import (
        MAX_MESSAGE_ID_LENGTH,
        MAX_TEXT_LENGTH,
        Carried,
        ConversationInput,
        ConversationSnapshot,
        CustomerMessage,
        Message,
        RecordBatch,
        Sender,
        Status,
        TurnReply,
    )
    from workflows.interpreter import FlowState, Turn

RECENT_MESSAGES = 200
"""Transcript entries kept in the workflow (the SQL log keeps them all)."""
ANSWERED_IDS = 1000
"""Message ids remembered for deduplication, carried across continue-as-new."""
ENDED = "conversation ended"
"""Why a message is refused by a conversation that is closing (the API then starts a new one)."""
IDLE_LIMIT = timedelta(hours=24)
"""A conversation with no customer message for this long ends by itself."""
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
HTTP_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))


@workflow.defn
class ConversationWorkflow:
    @workflow.init
    def __init__(self, input: ConversationInput) -> None:
        self._input = input
        carried = input.carried
        self._state: FlowState = (
            carried.state if carried else FlowState(contact=input.contact.as_template())
        )
        self._status: Status = carried.status if carried else "bot"
        self._seq = carried.seq if carried else 0
        self._recent: list[Message] = list(carried.recent) if carried else []
        self._answered: dict[str, tuple[int, int]] = dict(carried.answered) if carried else {}
        self._last_customer_at: datetime | None = carried.last_customer_at if carried else None
        self._generation = carried.timeout_generation if carried else 0
        self._deadline: datetime | None = None
        self._outbox: list[Message] = []
        self._status_dirty = True
        self._recording = False
        self._left = False
        self._messages_this_run = 0
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        pump = asyncio.create_task(self._pump())
        while not self._state.ended:
            if self._continue_as_new_due():
                await self._continue_as_new()
            generation = self._generation
            try:
                await workflow.wait_condition(
                    partial(self._something_changed, generation), timeout=self._time_left()
                )
            except TimeoutError:
                await self._on_timer(generation)
            if self._left and not self._state.ended:
                async with self._lock:
                    self._append("system", kind="notice", text="O cliente saiu da conversa.")
                    self._end()
        await workflow.wait_condition(self._idle)
        pump.cancel()
        return self._snapshot()

    # --- customer messages -------------------------------------------------------------

    @workflow.update
    async def message(self, msg: CustomerMessage) -> TurnReply:
        """A customer message; the reply carries the bot's answers to it."""
        async with self._lock:
            if msg.message_id in self._answered:
                return self._reply_for(msg.message_id)
            if self._state.ended:
                raise ApplicationError(ENDED, type="ConversationEnded")
            return await self._handle_customer(msg)

    @message.validator
    def _validate_message(self, msg: CustomerMessage) -> None:
        problem = _message_problem(msg)
        if problem:
            raise ValueError(problem)
        if self._state.ended and msg.message_id not in self._answered:
            raise ValueError(ENDED)

    @workflow.signal
    async def deliver(self, msg: CustomerMessage) -> None:
        """The same as `message`, as a Signal: how a message is accepted while no worker runs."""
        async with self._lock:
            if msg.message_id in self._answered or _message_problem(msg):
                return
            if self._state.ended:
                workflow.logger.warning("message %s arrived after the end", msg.message_id)
                return
            await self._handle_customer(msg)

    @workflow.signal
    def leave(self) -> None:
        """The customer left the conversation."""
        self._left = True

    @workflow.query
    def snapshot(self) -> ConversationSnapshot:
        return self._snapshot()

    @workflow.query
    def transcript(self, after: int) -> list[Message]:
        return [m for m in self._recent if m.seq > after]

    async def _handle_customer(self, msg: CustomerMessage) -> TurnReply:
        own = self._append("customer", text=msg.text, message_id=msg.message_id)
        self._last_customer_at = workflow.now()
        self._messages_this_run += 1
        if msg.contact and msg.contact.name:
            contact = {**self._state.contact, "name": msg.contact.name}
            self._state = self._state.model_copy(update={"contact": contact})
        flow, state = self._input.flow, self._state
        if not state.started:
            await self._follow(lambda: interpreter.start(flow, state))
        elif self._status == "bot":
            route = interpreter.matching_escape_route(flow, msg.text)
            if route is not None:
                await self._follow(lambda: interpreter.escape(flow, state, route))
            else:
                await self._follow(lambda: interpreter.answer(flow, state, msg.text))
        self._answered[msg.message_id] = (own.seq, self._seq)
        while len(self._answered) > ANSWERED_IDS:
            del self._answered[next(iter(self._answered))]
        self._generation += 1
        return self._reply_for(msg.message_id)

    # --- following the flow ------------------------------------------------------------

    async def _follow(self, step: Callable[[], Turn]) -> None:
        """Run interpreter steps, doing what each wait asks, until the flow awaits the customer."""
        try:
            turn = step()
            while True:
                self._state = turn.state
                for reply in turn.replies:
                    self._append("bot", kind=reply.kind, text=reply.text, options=reply.options)
                wait = turn.wait
                if isinstance(wait, interpreter.AwaitInput):
                    self._await_input(wait.timeout_seconds)
                    return
                if isinstance(wait, interpreter.Ended):
                    self._end()
                    return
                if isinstance(wait, interpreter.CallHttp):
                    result = await self._call_http(wait.request)
                    turn = interpreter.http_done(self._input.flow, self._state, result)
                    continue
                outcome = await self._hand_over(wait.block)
                turn = interpreter.human_done(self._input.flow, self._state, outcome)
        except interpreter.FlowLoopError as exc:
            workflow.logger.error("flow loop in %s: %s", self._input.bot, exc)
            self._append("system", kind="notice", text="Desculpe, ocorreu um erro no atendimento.")
            self._end()

    async def _call_http(self, request: interpreter.HttpRequest) -> interpreter.HttpResult:
        try:
            return await workflow.execute_activity(
                call_http,
                HttpCall(
                    request=request,
                    allow_private_addresses=self._input.flow.http.allow_private_addresses,
                ),
                start_to_close_timeout=timedelta(seconds=request.timeout_seconds + 5),
                retry_policy=HTTP_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc)
            return interpreter.HttpResult(ok=False, error=cause)

    async def _hand_over(self, block: str) -> str:
        """The Humano block. Until Omni queues are wired in, human service is unavailable."""
        workflow.logger.info("human block %s: no Omni runtime yet, outcome unavailable", block)
        return "unavailable"

    def _something_changed(self, generation: int) -> bool:
        """Wake the main loop: the conversation moved on, ended, or should continue as new."""
        return (
            self._state.ended
            or self._left
            or self._generation != generation
            or self._continue_as_new_due()
        )

    def _await_input(self, timeout_seconds: int | None) -> None:
        self._generation += 1
        self._deadline = (
            workflow.now() + timedelta(seconds=timeout_seconds) if timeout_seconds else None
        )

    async def _on_timer(self, generation: int) -> None:
        async with self._lock:
            if generation != self._generation or self._state.ended:
                return
            now = workflow.now()
            if self._deadline and now >= self._deadline:
                self._deadline = None
                flow, state = self._input.flow, self._state
                await self._follow(lambda: interpreter.timeout(flow, state))
            elif now >= self._idle_deadline():
                self._append("system", kind="notice", text="Conversa encerrada por inatividade.")
                self._end()

    def _time_left(self) -> timedelta:
        now = workflow.now()
        deadline = self._idle_deadline()
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        return max(deadline - now, timedelta(0))

    def _idle_deadline(self) -> datetime:
        return (self._last_customer_at or workflow.now()) + IDLE_LIMIT

    def _end(self) -> None:
        self._state = self._state.model_copy(update={"ended": True, "block": None})
        self._deadline = None
        self._set_status("ended")

    # --- transcript and recording ------------------------------------------------------

    def _append(
        self,
        sender: Sender,
        *,
        text: str | None,
        kind: str = "text",
        options: list[str] | None = None,
        message_id: str | None = None,
    ) -> Message:
        self._seq += 1
        message = Message(
            seq=self._seq,
            sender=sender,
            kind=kind,
            text=text,
            options=options,
            message_id=message_id,
            at=workflow.now(),
        )
        self._recent.append(message)
        del self._recent[:-RECENT_MESSAGES]
        self._outbox.append(message)
        return message

    def _set_status(self, status: Status) -> None:
        if status == self._status:
            return
        self._status = status
        self._status_dirty = True
        workflow.upsert_search_attributes([STATUS.value_set(status)])

    async def _pump(self) -> None:
        """Record new messages and status in the SQL log, in order, one batch at a time."""
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._status_dirty)
            batch, self._outbox = self._outbox, []
            self._status_dirty = False
            self._recording = True
            workflow.set_current_details(self._details())
            try:
                await workflow.execute_activity_method(
                    ConversationLog.record,
                    RecordBatch(
                        conversation_id=self._input.conversation_id,
                        workflow_id=workflow.info().workflow_id,
                        bot=self._input.bot,
                        bot_version=self._input.bot_version,
                        contact_id=self._input.contact.id,
                        status=self._status,
                        block=self._state.block,
                        messages=batch,
                    ),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RECORD_RETRY,
                )
            finally:
                self._recording = False

    def _idle(self) -> bool:
        """Nothing in flight: no handler running, nothing left to record."""
        return (
            workflow.all_handlers_finished()
            and not self._outbox
            and not self._status_dirty
            and not self._recording
        )

    def _details(self) -> str:
        where = f"block `{self._state.block}`" if self._state.block else "no block"
        return (
            f"**{self._status}** · bot `{self._input.bot}` v{self._input.bot_version} · {where}"
            f" · {self._seq} messages"
        )

    # --- continue-as-new ---------------------------------------------------------------

    def _continue_as_new_due(self) -> bool:
        return (
            self._messages_this_run >= self._input.max_updates_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(self._idle)
        carried = Carried(
            state=self._state,
            status=self._status,
            seq=self._seq,
            recent=self._recent,
            answered=self._answered,
            last_customer_at=self._last_customer_at,
            timeout_generation=self._generation,
        )
        workflow.continue_as_new(self._input.model_copy(update={"carried": carried}))

    # --- answers -----------------------------------------------------------------------

    def _reply_for(self, message_id: str) -> TurnReply:
        first, last = self._answered[message_id]
        replies = [m for m in self._recent if first < m.seq <= last and m.sender != "customer"]
        return TurnReply(
            conversation_id=self._input.conversation_id,
            status=self._status,
            replies=replies,
            bot_version=self._input.bot_version,
            started=first == 1,
        )

    def _snapshot(self) -> ConversationSnapshot:
        return ConversationSnapshot(
            conversation_id=self._input.conversation_id,
            bot=self._input.bot,
            bot_version=self._input.bot_version,
            contact_id=self._input.contact.id,
            status=self._status,
            block=self._state.block,
            variables=self._state.variables,
            last_seq=self._seq,
        )


def _message_problem(msg: CustomerMessage) -> str | None:
    if not msg.message_id or len(msg.message_id) > MAX_MESSAGE_ID_LENGTH:
        return f"message_id must have 1 to {MAX_MESSAGE_ID_LENGTH} characters"
    if not msg.text.strip():
        return "text is empty"
    if len(msg.text) > MAX_TEXT_LENGTH:
        return f"text is longer than {MAX_TEXT_LENGTH} characters"
    return None
