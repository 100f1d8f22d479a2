"""ConversationWorkflow: one durable Temporal workflow per customer conversation.

It owns the conversation's state (one `ConversationState`, `self.conv`, taken whole through
continue-as-new: workflows/continuing.py; what lasts a run are plain attributes) and maps the
interpreter's waits to Temporal: customer messages are Updates (deduplicated by message id),
question timeouts timers (decided by the pure workflows/timers.py), HTTP blocks and the message
log activities, recorded in order by one "pump" off the reply's path. The Humano block lives in
the HumanoBlock mixin (workflows/humano.py), typed against the `ConversationCore` this class
provides (core.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.http_call import HttpCall, HttpCalls
    from omni.desk import AGENT_ONLY_KINDS
    from workflows import interpreter, timers
    from workflows.contracts import (
        ConversationInput,
        ConversationSnapshot,
        ConversationState,
        CustomerMessage,
        Message,
        TurnReply,
    )
    from workflows.interpreter import Turn
    from workflows.refusals import Refusal, refuse
    from workflows.timers import Timer, TimerKind

from workflows import kept_timer, patches, transcript_tail
from workflows.attachments import AttachmentActions
from workflows.button_presses import ButtonPresses
from workflows.care import CareRules
from workflows.channel_outbox import ChannelOutbox
from workflows.continuing import Continuing
from workflows.desk import DeskActions
from workflows.humano import HumanoBlock
from workflows.kept_timer import KeptTimer
from workflows.message_log import MessageLog
from workflows.offers import AutoAssignment
from workflows.supervision import SupervisorActions
from workflows.transcript_mail import TranscriptMail
from workflows.webhook_events import WebhookEvents

ANSWERED_IDS = 1000
"""Message ids remembered for deduplication, carried across continue-as-new."""
ENDED = "conversation ended"
"""Why a message is refused by a conversation that is closing (the API then starts a new one)."""
ESCAPE_INACTIVITY = "escape-inactivity"
"""Patch id: inactivity escape routes have timers (histories before it replay without)."""
KEEP_TIMER = "keep-timer"
"""Patch id: the main loop keeps its timer across turns (workflows/kept_timer.py)."""
UNENGAGED_IDLE = "unengaged-idle"
"""Patch id: a conversation that never engaged ends after `unengaged_idle_seconds` (histories
before it replay with the 24 h limit)."""
HTTP_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))


@workflow.defn
class ConversationWorkflow(
    HumanoBlock,
    AutoAssignment,
    CareRules,
    DeskActions,
    AttachmentActions,
    SupervisorActions,
    TranscriptMail,
    ButtonPresses,
    Continuing,
    MessageLog,
    WebhookEvents,
    ChannelOutbox,
):
    @workflow.init
    def __init__(self, input: ConversationInput) -> None:
        self.run_version = patches.RunVersion(input.code_version)  # patches.Versioned
        self._input = input
        self.conv = (
            input.carried.model_copy(deep=True)
            if input.carried
            else ConversationState.fresh(input.contact)
        )
        self._start_message_log()
        self._start_webhooks()
        self._start_continuing()  # workflows/continuing.py
        self._left = self.conv.left
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        pump = asyncio.create_task(self._pump())
        webhooks = asyncio.create_task(self._webhook_pump())
        channel = self._start_channel_pump()
        timer = KeptTimer() if patches.patched(KEEP_TIMER) else None
        while not self.conv.state.ended:
            await self._continue_if_due(timer)  # continues as new once due and idle
            await self._wait(timer, self.conv.timeout_generation)
            if self._left and not self.conv.state.ended:
                async with self._lock:
                    await self._customer_left()
        kept_timer.close(timer)
        await workflow.wait_condition(self._idle)
        pump.cancel()
        webhooks.cancel()
        if channel is not None:
            channel.cancel()
        return self._snapshot()

    # --- customer messages -------------------------------------------------------------

    @workflow.update
    async def message(self, msg: CustomerMessage) -> TurnReply:
        """A customer message; the reply carries the bot's answers to it."""
        async with self._lock:
            ahead = self._takes_ahead(msg.log_ahead)  # workflows/message_log.py
            if msg.message_id in self.conv.answered:  # its entries are not the caller's
                return self._reply_for(msg.message_id)
            if self.conv.state.ended:
                raise refuse(Refusal.CONVERSATION_ENDED, ENDED)
            return self._ahead_of(await self._handle_customer(msg), ahead)

    @message.validator
    def _validate_message(self, msg: CustomerMessage) -> None:
        problem = msg.problem()
        if problem:
            raise refuse(Refusal.INVALID_MESSAGE, problem)
        if self.conv.state.ended and msg.message_id not in self.conv.answered:
            raise refuse(Refusal.CONVERSATION_ENDED, ENDED)

    @workflow.signal
    async def deliver(self, msg: CustomerMessage) -> None:
        """The same as `message`, as a Signal: how a message is accepted while no worker runs."""
        async with self._lock:
            if msg.message_id in self.conv.answered:  # by an Update whose caller gave up
                self.log_behind()  # on its answer: it wrote nothing (workflows/message_log.py)
                return
            if msg.problem():
                return
            if self.conv.state.ended:
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
        return transcript_tail.between(self.conv.recent, after)

    async def _handle_customer(self, msg: CustomerMessage) -> TurnReply:
        since = self.conv.replied_through
        press = self._read_press(msg)  # a channel's menu button: of which menu
        msg = msg.model_copy(update={"text": press.text}) if press.text != msg.text else msg
        self._append("customer", text=msg.text, message_id=msg.message_id, data=msg.data)
        self.conv.last_customer_at = workflow.now()
        self.conv.escapes_fired = []
        self._messages_this_run += 1
        if msg.contact and msg.contact.name:
            contact = {**self.conv.state.contact, "name": msg.contact.name}
            self.conv.state = self.conv.state.model_copy(update={"contact": contact})
        self._care_customer_spoke()
        handoff = self.conv.handoff
        if handoff is not None and handoff.agent_id is not None:
            self._emit("message", **{"from": "customer", "text": msg.text, "seq": self.conv.seq})
        if handoff is not None and handoff.voicemail_until is not None:
            texts = [*handoff.voicemail_texts, msg.text]
            self.conv.handoff = handoff.model_copy(update={"voicemail_texts": texts})
        flow, state = self._input.flow, self.conv.state
        if not state.started:
            await self._follow(lambda: interpreter.start(flow, state))
        elif press.stale and not self._escapes(msg.text):  # it answers nothing asked now
            self._ask_again(press)
        elif self.conv.csat is not None:
            await self._csat_answer(msg.text)
        elif self.conv.status == "bot":
            route = interpreter.matching_escape_route(flow, msg.text)
            if route is not None:
                await self._follow(lambda: interpreter.escape(flow, state, route))
            else:
                await self._follow(lambda: interpreter.answer(flow, state, msg.text))
        self.conv.answered[msg.message_id] = (since, self.conv.seq)
        self.conv.replied_through = self.conv.seq
        self._answered_a_customer = True
        while len(self.conv.answered) > ANSWERED_IDS:
            del self.conv.answered[next(iter(self.conv.answered))]
        self._moved_on()
        return self._reply_for(msg.message_id)

    # --- following the flow ------------------------------------------------------------

    async def _follow(self, step: Callable[[], Turn]) -> None:
        """Run interpreter steps, doing what each wait asks, until the flow awaits the customer."""
        try:
            turn = step()
            while True:
                self.conv.state = turn.state
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
                    turn = interpreter.http_done(self._input.flow, self.conv.state, result)
                    continue
                outcome = await self._hand_over(wait.block)
                if outcome is None:  # queued: the main loop waits for the agent
                    return
                turn = interpreter.human_done(self._input.flow, self.conv.state, outcome)
        except interpreter.FlowLoopError as exc:
            workflow.logger.error("flow loop in %s: %s", self._input.bot, exc)
            self._append("system", kind="notice", text="Desculpe, ocorreu um erro no atendimento.")
            self._end()

    async def _call_http(self, request: interpreter.HttpRequest) -> interpreter.HttpResult:
        try:
            return await workflow.execute_activity_method(
                HttpCalls.call_http,
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

    # --- timers (decided by workflows/timers.py) ---------------------------------------

    def _something_changed(self, generation: int) -> bool:
        """Wake the main loop: the conversation moved on, ended, or should continue as new."""
        return (
            self.conv.state.ended
            or self._left
            or self.conv.timeout_generation != generation
            or self._continuing_wakes()
        )

    def _moved_on(self) -> None:
        self.conv.timeout_generation += 1

    def _await_input(self, timeout_seconds: int | None) -> None:
        self._moved_on()
        self.conv.question_deadline = (
            workflow.now() + timedelta(seconds=timeout_seconds) if timeout_seconds else None
        )

    def _timers(self) -> list[Timer]:
        if self.conv.csat is not None:  # the survey's timeout only (workflows/care.py)
            return self._care_timers()
        running = timers.running(
            self.conv,
            self._input.flow.escape_routes,
            workflow.now(),
            escape_timers=lambda: patches.patched(ESCAPE_INACTIVITY),
            unengaged_idle=self._unengaged_idle,
        )
        return [*running, *self._care_timers()]

    def _unengaged_idle(self) -> timedelta | None:
        if not patches.patched(UNENGAGED_IDLE):
            return None
        return timedelta(seconds=self._input.unengaged_idle_seconds)

    async def _wait(self, timer: KeptTimer | None, generation: int) -> None:
        """Until something changes or a timer is due: the timer kept across turns, or (runs
        before `keep-timer`) a new one on every wake."""
        changed = partial(self._something_changed, generation)
        if timer is None:
            try:
                await workflow.wait_condition(changed, timeout=self._time_left())
            except TimeoutError:
                await self._on_timer(generation)
            return
        timer.arm(timers.next_deadline(self._timers()))
        await workflow.wait_condition(lambda: changed() or timer.fired())
        if timer.fired() and timer.take(timers.next_deadline(self._timers())) and not changed():
            await self._on_timer(generation)

    def _time_left(self) -> timedelta | None:
        """Until the next timer (None: no timer runs, e.g. while an agent has the chat)."""
        at = timers.next_deadline(self._timers())
        return None if at is None else max(at - workflow.now(), timedelta(0))

    async def _on_timer(self, generation: int) -> None:
        async with self._lock:
            if generation != self.conv.timeout_generation or self.conv.state.ended:
                return
            handoff = self.conv.handoff
            waiting = (
                handoff is not None and handoff.agent_id is None and not handoff.voicemail_until
            )
            timer = timers.due(self._timers(), workflow.now())
            if timer is not None:
                await self._fire(timer)
            if waiting or (timer is not None and timer.kind is TimerKind.ESCAPE_INACTIVITY):
                self._moved_on()

    async def _fire(self, timer: Timer) -> None:
        flow, state = self._input.flow, self.conv.state
        match timer.kind:
            case TimerKind.VOICEMAIL_END:
                await self._close_voicemail()
            case TimerKind.MAX_WAIT:
                await self._offer_voicemail()
            case TimerKind.ABANDONMENT:
                await self._abandon_if_still_waiting()
            case TimerKind.QUEUE_NOTIFICATION:
                self._notify_queue()
            case TimerKind.OFFER_LAPSE:
                await self._offer_lapsed()
            case TimerKind.ESCAPE_INACTIVITY:
                assert timer.route is not None
                self.conv.escapes_fired.append(timer.route)
                route = flow.escape_routes[timer.route]
                await self._follow(lambda: interpreter.escape(flow, state, route))
            case TimerKind.QUESTION_TIMEOUT:
                self.conv.question_deadline = None
                await self._follow(lambda: interpreter.timeout(flow, state))
            case TimerKind.IDLE:
                self._append("system", kind="notice", text="Conversa encerrada por inatividade.")
                self._end()
            case _:
                await self._fire_care(timer)

    def _end(self) -> None:
        self.conv.state = self.conv.state.model_copy(update={"ended": True, "block": None})
        self.conv.question_deadline = None
        self._set_status("ended")

    def _idle(self) -> bool:
        """Nothing in flight: no handler running, nothing left to send or record."""
        return self._deliveries_idle() and self._log_idle()

    def _deliveries_idle(self) -> bool:
        """No handler running, nothing being sent (the log aside: workflows/continuing.py)."""
        return (
            workflow.all_handlers_finished()
            and self._webhooks_idle()
            and self._channel_idle()
            and self._mail_idle()
        )

    # --- answers -----------------------------------------------------------------------

    def _reply_for(self, message_id: str) -> TurnReply:
        """What the customer had not been answered yet up to this message: the bot's replies,
        and agent messages and notices that arrived since the previous answer."""
        since, last = self.conv.answered[message_id]
        turn = transcript_tail.between(self.conv.recent, since, last)
        customer = [m for m in turn if m.sender == "customer" and m.message_id == message_id]
        return TurnReply(
            conversation_id=self._input.conversation_id,
            status=self.conv.status,
            replies=[m for m in turn if m.sender != "customer" and m.kind not in AGENT_ONLY_KINDS],
            bot_version=self._input.bot_version,
            started=since == 0,
            customer=customer[0] if customer else None,
        )

    def _snapshot(self) -> ConversationSnapshot:
        return ConversationSnapshot(
            conversation_id=self._input.conversation_id,
            bot=self._input.bot,
            bot_version=self._input.bot_version,
            contact_id=self._input.contact.id,
            status=self.conv.status,
            block=self.conv.state.block,
            variables=self.conv.state.variables,
            last_seq=self.conv.seq,
        )
