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
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.conversation_log import ConversationLog
    from activities.http_call import HttpCall, call_http
    from activities.omni_queue import (
        ClaimRequest,
        CloseRequest,
        EnqueueRequest,
        HandoffTarget,
        OmniActivities,
        ResolveRequest,
        VoicemailRequest,
        WaitEstimate,
    )
    from activities.omni_queue import TransferRequest as QueueTransfer
    from activities.omni_queue import TransferResult as QueueTransferResult
    from activities.webhooks import WebhookEvent, WebhookSender
    from bots.models import HumanBlock
    from bots.schedule import describe_opening, is_open, next_opening
    from bots.templates import render
    from transbordo.temporal import AGENT, SERVICE, STATUS
    from workflows import interpreter
    from workflows.contracts import (
        MAX_MESSAGE_ID_LENGTH,
        MAX_TEXT_LENGTH,
        AgentMessage,
        Carried,
        ConversationInput,
        ConversationSnapshot,
        CustomerMessage,
        FinishRequest,
        Handoff,
        Message,
        PickupRequest,
        PickupResult,
        RecordBatch,
        Sender,
        Status,
        TransferRequest,
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
RECORD_BATCHING = "record-batching"
"""Patch id: recording waits RECORD_BATCH_DELAY to batch (histories before it replay without)."""
RECORD_BATCH_DELAY = timedelta(milliseconds=200)
ESCAPE_INACTIVITY = "escape-inactivity"
"""Patch id: inactivity escape routes have timers (histories before it replay without)."""
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
HTTP_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))
OMNI_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
OMNI_TIMEOUT = timedelta(seconds=10)
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
)
WEBHOOK_GIVE_UP = timedelta(hours=24)
"""A webhook receiver down for longer than this loses the event (logged)."""


class Unset:
    """Marks a keyword argument that was not given (None means "clear it")."""


UNSET = Unset()


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
        self._handoff: Handoff | None = carried.handoff if carried else None
        self._escapes_fired: list[int] = list(carried.escapes_fired) if carried else []
        self._replied_through = carried.replied_through if carried else 0
        self._deadline: datetime | None = None
        self._outbox: list[Message] = []
        self._webhook_outbox: list[WebhookEvent] = []
        self._delivering = False
        self._status_dirty = True
        self._recording = False
        self._left = False
        self._messages_this_run = 0
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        pump = asyncio.create_task(self._pump())
        webhooks = asyncio.create_task(self._webhook_pump())
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
                    await self._customer_left()
        await workflow.wait_condition(self._idle)
        pump.cancel()
        webhooks.cancel()
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
        since = self._replied_through
        self._append("customer", text=msg.text, message_id=msg.message_id)
        self._last_customer_at = workflow.now()
        self._escapes_fired = []
        self._messages_this_run += 1
        if msg.contact and msg.contact.name:
            contact = {**self._state.contact, "name": msg.contact.name}
            self._state = self._state.model_copy(update={"contact": contact})
        handoff = self._handoff
        if handoff is not None and handoff.agent_id is not None:
            self._emit("message", **{"from": "customer", "text": msg.text, "seq": self._seq})
        if handoff is not None and handoff.voicemail_until is not None:
            texts = [*handoff.voicemail_texts, msg.text]
            self._handoff = handoff.model_copy(update={"voicemail_texts": texts})
        flow, state = self._input.flow, self._state
        if not state.started:
            await self._follow(lambda: interpreter.start(flow, state))
        elif self._status == "bot":
            route = interpreter.matching_escape_route(flow, msg.text)
            if route is not None:
                await self._follow(lambda: interpreter.escape(flow, state, route))
            else:
                await self._follow(lambda: interpreter.answer(flow, state, msg.text))
        self._answered[msg.message_id] = (since, self._seq)
        self._replied_through = self._seq
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
                if outcome is None:  # queued: the main loop waits for the agent
                    return
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

    async def _hand_over(self, name: str) -> str | None:
        """Start the Humano block: an outcome at once (unavailable, closed, no_agents), or None
        once the customer waits in the service's queue."""
        flow = self._input.flow
        block = flow.blocks[name]
        assert isinstance(block, HumanBlock)
        if flow.human_service is None:
            return "unavailable"
        target: HandoffTarget | None = await self._omni(
            OmniActivities.resolve,
            ResolveRequest(
                bot=flow.bot, omni_key=flow.human_service.omni_key, service=block.service
            ),
        )
        if target is None:
            return "unavailable"
        now = workflow.now()
        if block.check_hours and flow.schedule is not None and not is_open(flow.schedule, now):
            opening = next_opening(flow.schedule, now)
            text = describe_opening(flow.schedule, opening, now) if opening else ""
            self._state = self._state.model_copy(update={"next_opening": text})
            return "closed"
        if block.check_agents_online and target.agents_logged_in == 0:
            return "no_agents"
        preview = next((m.text or "" for m in reversed(self._recent) if m.sender == "customer"), "")
        entry_id: str = await self._omni(
            OmniActivities.enqueue,
            EnqueueRequest(
                entry_id=f"q_{workflow.uuid4().hex}",
                conversation_id=self._input.conversation_id,
                workflow_id=workflow.info().workflow_id,
                service_id=target.service_id,
                preview=preview,
            ),
        )
        self._handoff = Handoff(
            block=name,
            service_id=target.service_id,
            service_name=target.service_name,
            entry_id=entry_id,
            abandon_seconds=target.abandon_seconds,
            show_agent_name=block.show_agent_name,
            enqueued_at=now,
            notification_interval_seconds=(
                target.notification_interval_seconds if target.notifications_enabled else 0
            ),
            notification_cards=target.notification_cards,
            voicemail_seconds=target.voicemail_seconds,
            max_wait_seconds=block.max_wait_seconds,
            webhook=target.webhook,
        )
        self._set_status("waiting", service=target.service_name)
        self._emit("queued")
        if block.text:
            self._append("bot", text=render(block.text, self._state.context()))
        if target.voicemail_seconds > 0 and target.agents_available == 0:
            await self._offer_voicemail()
            return None
        if flow.human_service.wait_time_notice == "once":
            estimate: WaitEstimate = await self._omni(OmniActivities.wait_estimate, entry_id)
            if estimate.estimated_wait_seconds is not None:
                self._append(
                    "bot",
                    kind="wait_time_notice",
                    text=_wait_text(estimate.estimated_wait_seconds),
                    data={
                        "estimated_wait_seconds": estimate.estimated_wait_seconds,
                        "position": estimate.position,
                    },
                )
        self._generation += 1
        return None

    async def _omni(self, activity, arg):  # type: ignore[no-untyped-def]
        """A short Omni SQL step, as a local activity (it sits on the reply's path)."""
        return await workflow.execute_local_activity_method(
            activity, arg, start_to_close_timeout=OMNI_TIMEOUT, retry_policy=OMNI_RETRY
        )

    async def _end_handoff(self, outcome: str) -> None:
        """The Humano block ended: the flow goes on from its `on.<outcome>` route."""
        self._handoff = None
        self._set_status("bot", service=None, agent=None)
        flow, state = self._input.flow, self._state
        await self._follow(lambda: interpreter.human_done(flow, state, outcome))

    async def _customer_left(self) -> None:
        """Leaving while waiting is abandonment; in service it finishes the contact."""
        handoff = self._handoff
        if handoff is not None and handoff.agent_id is None and not handoff.voicemail_until:
            await self._omni(
                OmniActivities.close_waiting,
                CloseRequest(entry_id=handoff.entry_id, status="abandoned"),
            )
            self._emit("abandoned", reason="left")
        elif handoff is not None and handoff.agent_id is not None:
            await self._omni(OmniActivities.finish, handoff.entry_id)
            self._emit("finished", by="customer")
        self._handoff = None
        self._append("system", kind="notice", text="O cliente saiu da conversa.")
        self._end()

    async def _offer_voicemail(self) -> None:
        """Nobody can answer: the queue entry closes as voicemail and the customer may leave
        a message for `voicemail_seconds` ("Caixa Postal")."""
        handoff = self._handoff
        assert handoff is not None
        closed = await self._omni(
            OmniActivities.close_waiting,
            CloseRequest(entry_id=handoff.entry_id, status="voicemail"),
        )
        if not closed:  # an agent picked the conversation up first
            return
        until = workflow.now() + timedelta(seconds=handoff.voicemail_seconds)
        self._handoff = handoff.model_copy(update={"voicemail_until": until})
        self._set_status("voicemail")
        self._append(
            "bot",
            text=(
                "No momento não há especialistas disponíveis. Deixe sua mensagem e"
                f" retornaremos o contato (você tem {handoff.voicemail_seconds} segundos)."
            ),
        )
        self._generation += 1

    async def _close_voicemail(self) -> None:
        """The voicemail time is over: store what the customer said, go on as `voicemail`."""
        handoff = self._handoff
        assert handoff is not None
        if handoff.voicemail_texts:
            await self._omni(
                OmniActivities.save_voicemail,
                VoicemailRequest(
                    voicemail_id=f"vm_{workflow.uuid4().hex}",
                    service_id=handoff.service_id,
                    service_name=handoff.service_name,
                    conversation_id=self._input.conversation_id,
                    bot=self._input.bot,
                    contact_id=self._input.contact.id,
                    text="\n".join(handoff.voicemail_texts),
                ),
            )
            self._append("bot", text="Recebemos sua mensagem. Obrigado!")
        self._emit("voicemail", text="\n".join(handoff.voicemail_texts))
        await self._end_handoff("voicemail")

    async def _abandon_if_still_waiting(self) -> None:
        """Abandonment timer: SQL says whether it beat a pickup; if not, the agent has it."""
        handoff = self._handoff
        assert handoff is not None
        closed = await self._omni(
            OmniActivities.close_waiting,
            CloseRequest(entry_id=handoff.entry_id, status="abandoned"),
        )
        if closed:
            self._append("system", kind="notice", text="Atendimento encerrado por inatividade.")
            self._emit("abandoned", reason="inactivity")
            await self._end_handoff("abandoned")

    def _notify_queue(self) -> None:
        """The service's carousel of cards, sent to the waiting customer at its interval."""
        handoff = self._handoff
        assert handoff is not None
        cards = handoff.notification_cards
        self._append(
            "bot", kind="card", text=cards[0].get("title") if cards else None, data={"cards": cards}
        )
        self._handoff = handoff.model_copy(update={"last_notification_at": workflow.now()})

    # --- agents (Updates sent by the agent API) ---------------------------------------

    @workflow.update
    async def pickup(self, request: PickupRequest) -> PickupResult:
        """An agent takes the waiting conversation; SQL decides between racing agents."""
        async with self._lock:
            handoff = self._handoff
            if handoff is None or handoff.agent_id is not None:
                raise ApplicationError("the conversation is not waiting", type="taken")
            claim = await self._omni(
                OmniActivities.claim,
                ClaimRequest(entry_id=handoff.entry_id, agent_id=request.agent_id),
            )
            if claim.code != "ok":
                raise ApplicationError(claim.reason, type=claim.code, non_retryable=True)
            now = workflow.now()
            self._handoff = handoff.model_copy(
                update={"agent_id": request.agent_id, "agent_name": request.agent_name}
            )
            self._state = self._state.model_copy(update={"agent": {"name": request.agent_name}})
            self._set_status("in_service", agent=request.agent_name)
            self._emit("picked_up")
            who = request.agent_name if handoff.show_agent_name else "um de nossos especialistas"
            self._append("system", kind="notice", text=f"Você está sendo atendido por {who}.")
            self._generation += 1
            return PickupResult(
                conversation_id=self._input.conversation_id,
                transcript=list(self._recent),
                variables=self._state.variables,
                service=handoff.service_name,
                waited_seconds=int((now - handoff.enqueued_at).total_seconds()),
            )

    @pickup.validator
    def _validate_pickup(self, request: PickupRequest) -> None:
        handoff = self._handoff
        if handoff is None or handoff.agent_id is not None or handoff.voicemail_until:
            raise ApplicationError("the conversation is not waiting", type="taken")

    @workflow.update
    def agent_message(self, request: AgentMessage) -> Message:
        """The agent's text, to the customer (with the agent's name when the block says so)."""
        handoff = self._check_agent(request.agent_id)
        data = {"agent": handoff.agent_name} if handoff.show_agent_name else None
        message = self._append("agent", text=request.text, data=data)
        self._emit("message", **{"from": "agent", "text": request.text, "seq": message.seq})
        return message

    @agent_message.validator
    def _validate_agent_message(self, request: AgentMessage) -> None:
        self._check_agent(request.agent_id)
        if not request.text.strip() or len(request.text) > MAX_TEXT_LENGTH:
            raise ApplicationError(
                f"text must have 1 to {MAX_TEXT_LENGTH} characters", type="bad_request"
            )

    @workflow.update
    async def transfer(self, request: TransferRequest) -> str:
        """Move the conversation to the back of another service's queue; frees the agent."""
        async with self._lock:
            handoff = self._check_agent(request.agent_id)
            result: QueueTransferResult = await self._omni(
                OmniActivities.transfer,
                QueueTransfer(
                    entry_id=handoff.entry_id,
                    new_entry_id=f"q_{workflow.uuid4().hex}",
                    from_service_id=handoff.service_id,
                    service=request.service,
                    extension=request.extension,
                ),
            )
            if not result.ok:
                kind = "not_found" if result.not_found else "forbidden"
                raise ApplicationError(result.reason, type=kind, non_retryable=True)
            assert result.entry_id and result.service_id and result.service_name
            self._emit("transferred", handoff, to_service=result.service_name)
            self._handoff = handoff.model_copy(
                update={
                    "service_id": result.service_id,
                    "service_name": result.service_name,
                    "entry_id": result.entry_id,
                    "abandon_seconds": result.abandon_seconds,
                    "voicemail_seconds": result.voicemail_seconds,
                    "webhook": result.webhook,
                    "enqueued_at": workflow.now(),
                    "agent_id": None,
                    "agent_name": None,
                    "last_notification_at": None,
                }
            )
            self._set_status("waiting", service=result.service_name, agent=None)
            self._emit("queued")
            self._append("system", kind="notice", text=f"Transferindo para {result.service_name}.")
            self._generation += 1
            return result.service_name

    @transfer.validator
    def _validate_transfer(self, request: TransferRequest) -> None:
        self._check_agent(request.agent_id)
        if (request.service is None) == (request.extension is None):
            raise ApplicationError("give either service or extension", type="bad_request")

    @workflow.update
    async def finish(self, request: FinishRequest) -> str:
        """The agent is done: back to the bot (outcome `finished`) or the conversation ends."""
        async with self._lock:
            handoff = self._check_agent(request.agent_id)
            await self._omni(OmniActivities.finish, handoff.entry_id)
            self._emit("finished", by="agent", return_to_bot=request.return_to_bot)
            self._append("system", kind="notice", text="Atendimento humano encerrado.")
            if request.return_to_bot:
                await self._end_handoff("finished")
            else:
                self._handoff = None
                self._end()
            self._generation += 1
            return self._status

    @finish.validator
    def _validate_finish(self, request: FinishRequest) -> None:
        self._check_agent(request.agent_id)

    def _check_agent(self, agent_id: str) -> Handoff:
        handoff = self._handoff
        if handoff is None or handoff.agent_id is None:
            raise ApplicationError("the conversation is not in service", type="conflict")
        if handoff.agent_id != agent_id:
            raise ApplicationError("another agent has this conversation", type="forbidden")
        return handoff

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
            handoff = self._handoff
            if handoff is not None and handoff.voicemail_until is not None:
                if now >= handoff.voicemail_until:
                    await self._close_voicemail()
            elif handoff is not None and handoff.agent_id is None:
                if (wait_until := self._max_wait_deadline(handoff)) and now >= wait_until:
                    await self._offer_voicemail()
                elif now >= self._abandon_deadline(handoff):
                    await self._abandon_if_still_waiting()
                elif (notify_at := self._notification_deadline(handoff)) and now >= notify_at:
                    self._notify_queue()
                self._generation += 1
            elif (due := self._due_escape_route(now)) is not None:
                self._escapes_fired.append(due)
                route = self._input.flow.escape_routes[due]
                flow, state = self._input.flow, self._state
                await self._follow(lambda: interpreter.escape(flow, state, route))
                self._generation += 1
            elif self._deadline and now >= self._deadline:
                self._deadline = None
                flow, state = self._input.flow, self._state
                await self._follow(lambda: interpreter.timeout(flow, state))
            elif handoff is None and now >= self._idle_deadline():
                self._append("system", kind="notice", text="Conversa encerrada por inatividade.")
                self._end()

    def _time_left(self) -> timedelta | None:
        """Until the next timer: a question's timeout, idleness, or while waiting for an agent,
        abandonment and the next queue notification. None while an agent has the chat."""
        now = workflow.now()
        handoff = self._handoff
        if handoff is not None:
            if handoff.voicemail_until is not None:
                return max(handoff.voicemail_until - now, timedelta(0))
            if handoff.agent_id is not None:
                return None
            deadlines = [self._abandon_deadline(handoff)]
            if wait_until := self._max_wait_deadline(handoff):
                deadlines.append(wait_until)
            if notify_at := self._notification_deadline(handoff):
                deadlines.append(notify_at)
        else:
            deadlines = [self._idle_deadline(), *self._escape_deadlines().values()]
            if self._deadline is not None:
                deadlines.append(self._deadline)
        return max(min(deadlines) - now, timedelta(0))

    def _escape_deadlines(self) -> dict[int, datetime]:
        """When each inactivity escape route ("rota de fuga") fires: once per silence of the
        customer, only while the bot owns the chat."""
        routes = self._input.flow.escape_routes
        timed = [
            (index, route.inactivity_seconds)
            for index, route in enumerate(routes)
            if route.inactivity_seconds and index not in self._escapes_fired
        ]
        if not timed or self._status != "bot" or not workflow.patched(ESCAPE_INACTIVITY):
            return {}
        since = self._last_customer_at or workflow.now()
        return {index: since + timedelta(seconds=seconds) for index, seconds in timed}

    def _due_escape_route(self, now: datetime) -> int | None:
        due = [(at, index) for index, at in self._escape_deadlines().items() if at <= now]
        return min(due)[1] if due else None

    def _abandon_deadline(self, handoff: Handoff) -> datetime:
        """`abandon_seconds` after the customer's last sign of life (or the queueing)."""
        last = max(handoff.enqueued_at, self._last_customer_at or handoff.enqueued_at)
        return last + timedelta(seconds=handoff.abandon_seconds)

    def _max_wait_deadline(self, handoff: Handoff) -> datetime | None:
        """The block's `max_wait_seconds` leads to voicemail, when the service has one."""
        if not handoff.max_wait_seconds or not handoff.voicemail_seconds:
            return None
        return handoff.enqueued_at + timedelta(seconds=handoff.max_wait_seconds)

    def _notification_deadline(self, handoff: Handoff) -> datetime | None:
        if not handoff.notification_interval_seconds or not handoff.notification_cards:
            return None
        last = handoff.last_notification_at or handoff.enqueued_at
        return last + timedelta(seconds=handoff.notification_interval_seconds)

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
        data: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> Message:
        self._seq += 1
        message = Message(
            seq=self._seq,
            sender=sender,
            kind=kind,
            text=text,
            options=options,
            data=data,
            message_id=message_id,
            at=workflow.now(),
        )
        self._recent.append(message)
        del self._recent[:-RECENT_MESSAGES]
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
        if status != self._status:
            self._status = status
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
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._status_dirty)
            if not self._state.ended and workflow.patched(RECORD_BATCHING):
                # Gather a moment's messages into one activity: an activity scheduled with
                # every reply would slow the next customer message (see bench/README.md).
                await workflow.sleep(RECORD_BATCH_DELAY)
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
                        service=self._handoff.service_name if self._handoff else None,
                        agent=self._handoff.agent_name if self._handoff else None,
                        messages=batch,
                    ),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RECORD_RETRY,
                )
            finally:
                self._recording = False

    def _emit(self, kind: str, handoff: Handoff | None = None, **data: Any) -> None:
        """Queue a service event for its external webhook (when the service has one)."""
        handoff = handoff or self._handoff
        if handoff is None or not handoff.webhook:
            return
        self._webhook_outbox.append(
            WebhookEvent(
                event_id=f"evt_{workflow.uuid4().hex}",
                type=kind,
                service_id=handoff.service_id,
                occurred_at=workflow.now(),
                data={
                    "conversation_id": self._input.conversation_id,
                    "bot": self._input.bot,
                    "contact_id": self._input.contact.id,
                    "service": handoff.service_name,
                    "agent": handoff.agent_name,
                    **data,
                },
            )
        )

    async def _webhook_pump(self) -> None:
        """Deliver webhook events in order, one at a time, each retried with backoff."""
        while True:
            await workflow.wait_condition(lambda: bool(self._webhook_outbox))
            event = self._webhook_outbox.pop(0)
            self._delivering = True
            try:
                await workflow.execute_activity_method(
                    WebhookSender.deliver,
                    event,
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=WEBHOOK_GIVE_UP,
                    retry_policy=WEBHOOK_RETRY,
                )
            except ActivityError:
                workflow.logger.error(
                    "webhook event %s (%s) not delivered", event.event_id, event.type
                )
            finally:
                self._delivering = False

    def _idle(self) -> bool:
        """Nothing in flight: no handler running, nothing left to record."""
        return (
            workflow.all_handlers_finished()
            and not self._outbox
            and not self._status_dirty
            and not self._recording
            and not self._webhook_outbox
            and not self._delivering
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
            handoff=self._handoff,
            replied_through=self._replied_through,
            escapes_fired=self._escapes_fired,
        )
        workflow.continue_as_new(self._input.model_copy(update={"carried": carried}))

    # --- answers -----------------------------------------------------------------------

    def _reply_for(self, message_id: str) -> TurnReply:
        """What the customer had not been answered yet up to this message: the bot's replies,
        and agent messages and notices that arrived since the previous answer."""
        since, last = self._answered[message_id]
        replies = [m for m in self._recent if since < m.seq <= last and m.sender != "customer"]
        return TurnReply(
            conversation_id=self._input.conversation_id,
            status=self._status,
            replies=replies,
            bot_version=self._input.bot_version,
            started=since == 0,
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


def _wait_text(seconds: int) -> str:
    """The estimated-wait notice, in words a customer reads at a glance."""
    minutes = max(1, round(seconds / 60))
    unit = "minuto" if minutes == 1 else "minutos"
    return f"Tempo estimado de espera: cerca de {minutes} {unit}."


def _message_problem(msg: CustomerMessage) -> str | None:
    if not msg.message_id or len(msg.message_id) > MAX_MESSAGE_ID_LENGTH:
        return f"message_id must have 1 to {MAX_MESSAGE_ID_LENGTH} characters"
    if not msg.text.strip():
        return "text is empty"
    if len(msg.text) > MAX_TEXT_LENGTH:
        return f"text is longer than {MAX_TEXT_LENGTH} characters"
    return None
