"""The Humano block's runtime, as a mixin of ConversationWorkflow: handoff, waiting, agents.

`_hand_over` resolves the bot's Omni key, checks the schedule at `workflow.now()` and queues the
customer; the main loop's timers call back for abandonment, queue notifications, max wait and
voicemail; agents act through the Updates below. Every SQL step is a short local activity, so the
races it decides (pickup against pickup or abandonment) are decided once, in SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
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
    from workflows import interpreter
    from workflows.contracts import (
        MAX_TEXT_LENGTH,
        AgentMessage,
        FinishRequest,
        Handoff,
        Message,
        PickupRequest,
        PickupResult,
        TransferRequest,
    )

OMNI_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
OMNI_TIMEOUT = timedelta(seconds=10)
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)
)
WEBHOOK_GIVE_UP = timedelta(hours=24)
"""A webhook receiver down for longer than this loses the event (logged)."""


class HumanService:
    """The Humano block. Mixed into ConversationWorkflow, whose state (`_handoff`, `_state`,
    `_lock`, the transcript) and helpers (`_append`, `_set_status`, `_follow`, `_end`) it uses."""

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


def _wait_text(seconds: int) -> str:
    """The estimated-wait notice, in words a customer reads at a glance."""
    minutes = max(1, round(seconds / 60))
    unit = "minuto" if minutes == 1 else "minutos"
    return f"Tempo estimado de espera: cerca de {minutes} {unit}."
