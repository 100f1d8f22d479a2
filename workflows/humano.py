"""The Humano block's runtime, mixed into ConversationWorkflow: handoff, waiting, agents.

`_hand_over` checks the schedule at `workflow.now()`, resolves the bot's Omni key and queues the
customer (workflows/queueing.py); the main loop's timers (workflows/timers.py) call back for
abandonment, queue cards, max wait and voicemail; agents act through the Updates below. Every
SQL step is a short local activity, so the races it decides (pickup against pickup or
abandonment) are decided once, in SQL. Typed against `ConversationCore`: it uses nothing of
the workflow that is not declared there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.first_turn import wait_text
    from activities.omni_queue import (
        ClaimRequest,
        CloseRequest,
        EnqueueRequest,
        OmniActivities,
        ResolveRequest,
    )
    from activities.omni_queue import TransferRequest as QueueTransfer
    from activities.omni_queue import TransferResult as QueueTransferResult
    from bots.models import HumanBlock, HumanOutcome
    from bots.opening_words import describe_opening
    from bots.schedule import is_open, next_opening
    from bots.templates import render
    from workflows import interpreter
    from workflows.contracts import (
        MAX_TEXT_LENGTH,
        AgentMessage,
        AgentMessageSent,
        FinishRequest,
        FinishResult,
        Handoff,
        HandoffCare,
        PickupRequest,
        PickupResult,
        TransferUpdate,
    )
    from workflows.refusals import Refusal, refuse

from workflows import patches
from workflows.offers import queue_order
from workflows.omni_steps import omni_step
from workflows.queueing import Queued, queue_customer, with_cards_of
from workflows.voicemail import VOICEMAIL_ON_LEAVE, voicemail_of

TRANSFER_SNAPSHOT = "transfer-snapshot"
"""Patch id: a transfer takes all of the target's settings, its queue cards too (histories
before it keep the old service's cards)."""

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object


class HumanoBlock(_Core):
    """The Humano block's handlers; ConversationWorkflow provides the `ConversationCore`."""

    async def _hand_over(self, name: str) -> HumanOutcome | None:
        """Start the Humano block: an outcome at once (unavailable, closed, no_agents), or None
        once the customer waits in the service's queue."""
        flow, conv = self._input.flow, self.conv
        block = flow.blocks[name]
        assert isinstance(block, HumanBlock)
        if flow.human_service is None:
            return "unavailable"
        now = workflow.now()
        closed = block.check_hours and flow.schedule is not None and not is_open(flow.schedule, now)
        preview = next((m.text or "" for m in reversed(conv.recent) if m.sender == "customer"), "")
        notice = flow.human_service.wait_time_notice != "never"
        text = render(block.text, conv.state.context()) if block.text else None
        record = self._queued_record(text, notice)  # its seqs stay a gap if the hand-over fails
        queued = await queue_customer(
            self._omni,
            ResolveRequest(
                bot=flow.bot, omni_key=flow.human_service.omni_key, service=block.service
            ),
            EnqueueRequest(
                entry_id=f"q_{workflow.uuid4().hex}",
                conversation_id=self._input.conversation_id,
                workflow_id=workflow.info().workflow_id,
                service_id="",
                preview=preview,
                **queue_order(block, conv.state.context()),
            ),
            closed=closed,
            check_agents_online=block.check_agents_online,
            estimate=notice,
            record=record,
        )
        if queued == "closed" and flow.schedule is not None:
            opening = next_opening(flow.schedule, now)
            text = describe_opening(flow.schedule, opening, now)  # None: "assim que possível"
            conv.state = conv.state.model_copy(update={"next_opening": text})
        if not isinstance(queued, Queued):
            self._took_recorded(record, None)
            return queued
        target, entry_id = queued.target, queued.entry_id
        conv.handoff = Handoff(
            block=name,
            service=target.snapshot(),
            entry_id=entry_id,
            show_agent_name=block.show_agent_name,
            enqueued_at=now,
            max_wait_seconds=block.max_wait_seconds,
        )
        self._set_status("waiting", service=target.service_name)
        self._emit("queued")
        self._took_recorded(record, queued)
        if queued.recorded_through is None:  # not recorded by the hand-over: the pump will
            if block.text:
                self._append("bot", text=render(block.text, conv.state.context()))
            if target.voicemail_seconds > 0 and target.agents_available == 0:
                await self._offer_voicemail()
                return None
            estimate = queued.estimate
            if notice and not queued.fetched:
                estimate = await self._omni(OmniActivities.wait_estimate, entry_id)
            if estimate is not None and estimate.estimated_wait_seconds is not None:
                self._append(
                    "bot",
                    kind="wait_time_notice",
                    text=wait_text(estimate.estimated_wait_seconds),
                    data={
                        "estimated_wait_seconds": estimate.estimated_wait_seconds,
                        "position": estimate.position,
                    },
                )
        await self._offer_if_auto()
        self._moved_on()
        return None

    async def _omni(self, activity: Any, arg: Any) -> Any:
        """A short Omni SQL step, as a local activity (it sits on the reply's path)."""
        return await omni_step(activity, arg)

    def _handoff(self) -> Handoff:
        """The handoff in progress (the caller knows there is one)."""
        assert self.conv.handoff is not None
        return self.conv.handoff

    async def _end_handoff(self, outcome: HumanOutcome) -> None:
        """The Humano block ended: the flow goes on from its `on.<outcome>` route."""
        self.conv.handoff = None
        self._set_status("bot", service=None, agent=None)
        flow, state = self._input.flow, self.conv.state
        await self._follow(lambda: interpreter.human_done(flow, state, outcome))

    async def _customer_left(self) -> None:
        """Leaving while waiting is abandonment; in service it finishes the contact."""
        handoff = self.conv.handoff
        if handoff is not None and handoff.agent_id is None and not handoff.voicemail_until:
            await self._omni(
                OmniActivities.close_waiting,
                CloseRequest(entry_id=handoff.entry_id, status="abandoned"),
            )
            self._emit("abandoned", reason="left")
        elif handoff is not None and handoff.agent_id is not None:
            await self._omni(OmniActivities.finish, handoff.entry_id)
            self._emit("finished", by="customer")
        elif (
            handoff is not None and handoff.voicemail_texts and patches.patched(VOICEMAIL_ON_LEAVE)
        ):  # leaving during the voicemail time: what was said so far is the message
            await self._save_voicemail(handoff)
            self._emit("voicemail", text="\n".join(handoff.voicemail_texts))
        await self._dispatch_freed(handoff)  # its agent's slot, or its offer's
        self.conv.handoff = None
        self._append("system", kind="notice", text="O cliente saiu da conversa.")
        self._end()

    async def _offer_voicemail(self) -> None:
        """Nobody can answer: the queue entry closes as voicemail and the customer may leave
        a message for `voicemail_seconds` ("Caixa Postal")."""
        handoff = self._handoff()
        closed = await self._omni(
            OmniActivities.close_waiting,
            CloseRequest(entry_id=handoff.entry_id, status="voicemail"),
        )
        if not closed:  # an agent picked the conversation up first
            return
        await self._dispatch_freed(handoff)  # its offer ended
        seconds = handoff.service.voicemail_seconds
        until = workflow.now() + timedelta(seconds=seconds)
        self.conv.handoff = handoff.model_copy(update={"voicemail_until": until})
        self._set_status("voicemail")
        self._append(
            "bot",
            text=(
                "No momento não há especialistas disponíveis. Deixe sua mensagem e"
                f" retornaremos o contato (você tem {seconds} segundos)."
            ),
        )
        self._moved_on()

    async def _close_voicemail(self) -> None:
        """The voicemail time is over: store what the customer said, go on as `voicemail`."""
        handoff = self._handoff()
        if handoff.voicemail_texts:
            await self._save_voicemail(handoff)
            self._append("bot", text="Recebemos sua mensagem. Obrigado!")
        self._emit("voicemail", text="\n".join(handoff.voicemail_texts))
        await self._end_handoff("voicemail")

    async def _save_voicemail(self, handoff: Handoff) -> None:
        voicemail = voicemail_of(handoff, self._input, f"vm_{workflow.uuid4().hex}")
        await self._omni(OmniActivities.save_voicemail, voicemail)

    async def _abandon_if_still_waiting(self) -> None:
        """Abandonment timer: SQL says whether it beat a pickup; if not, the agent has it."""
        handoff = self._handoff()
        closed = await self._omni(
            OmniActivities.close_waiting,
            CloseRequest(entry_id=handoff.entry_id, status="abandoned"),
        )
        if closed:
            await self._dispatch_freed(handoff)  # its offer ended
            self._append("system", kind="notice", text="Atendimento encerrado por inatividade.")
            self._emit("abandoned", reason="inactivity")
            await self._end_handoff("abandoned")

    def _notify_queue(self) -> None:
        """The service's carousel of cards, sent to the waiting customer at its interval."""
        handoff = self._handoff()
        cards = handoff.service.notification_cards
        self._append(
            "bot", kind="card", text=cards[0].get("title") if cards else None, data={"cards": cards}
        )
        self.conv.handoff = handoff.model_copy(update={"last_notification_at": workflow.now()})

    @workflow.update
    async def pickup(self, request: PickupRequest) -> PickupResult:
        """An agent takes the waiting conversation; SQL decides between racing agents. The
        agent who has it may ask again (its answer died with an API process): same answer."""
        async with self._lock:
            ahead, handoff = self._takes_ahead(request.log_ahead), self.conv.handoff
            if handoff is not None and handoff.agent_id == request.agent_id:
                if ahead:  # the first answer's write may never have come
                    self.log_behind()
                return self._picked_up(handoff, repeated=True)
            if handoff is None or handoff.agent_id is not None:
                raise _not_waiting(handoff)
            claim = await self._omni(
                OmniActivities.claim,
                ClaimRequest(entry_id=handoff.entry_id, agent_id=request.agent_id),
            )
            if claim.code != "ok":
                raise refuse(Refusal(claim.code), claim.reason)
            taken = {"agent_id": request.agent_id, "agent_name": request.agent_name}
            service = request.with_carried_care(handoff.service)  # its care now (a patch)
            self.conv.handoff = handoff.model_copy(update={**taken, "service": service})
            state = self.conv.state
            self.conv.state = state.model_copy(update={"agent": {"name": request.agent_name}})
            self._set_status("in_service", agent=request.agent_name)
            self._emit("picked_up")
            who = request.agent_name if handoff.show_agent_name else "um de nossos especialistas"
            notice = self._append(
                "system", kind="notice", text=f"Você está sendo atendido por {who}."
            )
            self._moved_on()
            picked = self._picked_up(handoff)
            if ahead:
                picked.logged, picked.log = [notice], self._written_ahead([notice])
            return picked

    def _picked_up(self, handoff: Handoff, *, repeated: bool = False) -> PickupResult:
        """What the agent who took the conversation gets (the same when asking again)."""
        return PickupResult(
            conversation_id=self._input.conversation_id,
            transcript=list(self.conv.recent),
            variables=self.conv.state.variables,
            service=handoff.service.service_name,
            waited_seconds=int((workflow.now() - handoff.enqueued_at).total_seconds()),
            repeated=repeated,
        )

    @pickup.validator
    def _validate_pickup(self, request: PickupRequest) -> None:
        handoff = self.conv.handoff
        if handoff is not None and handoff.agent_id == request.agent_id:
            return  # the agent who has it, asking again
        if handoff is None or handoff.agent_id is not None or handoff.voicemail_until:
            raise _not_waiting(handoff)

    @workflow.update
    def agent_message(self, request: AgentMessage) -> AgentMessageSent:
        """The agent's text, to the customer (with the agent's name when the block says so)."""
        handoff = self._check_agent(request.agent_id)  # a refused request asks no patch
        ahead = self._takes_ahead(request.log_ahead)
        key = request.key()
        sent = next((m for m in self.conv.recent if key and m.message_id == key), None)
        if sent is not None:  # a retry the Update id no longer dedupes (a run continued as new)
            return AgentMessageSent(**dict(sent), log=None)
        data = {"agent": handoff.agent_name} if handoff.show_agent_name else None
        message = self._append("agent", text=request.text, data=data, message_id=key)
        self._care_agent_spoke()
        self._emit("message", **{"from": "agent", "text": request.text, "seq": message.seq})
        log = self._written_ahead([message]) if ahead else None
        return AgentMessageSent(**dict(message), log=log)

    @agent_message.validator
    def _validate_agent_message(self, request: AgentMessage) -> None:
        self._check_agent(request.agent_id)
        if not request.text.strip() or len(request.text) > MAX_TEXT_LENGTH:
            raise refuse(Refusal.BAD_REQUEST, f"text must have 1 to {MAX_TEXT_LENGTH} characters")

    @workflow.update
    async def transfer(self, request: TransferUpdate) -> str:
        """Move the conversation to the back of another service's queue; frees the agent."""
        async with self._lock:
            handoff = self._check_agent(request.agent_id)
            result: QueueTransferResult = await self._omni(
                OmniActivities.transfer,
                QueueTransfer(
                    entry_id=handoff.entry_id,
                    new_entry_id=f"q_{workflow.uuid4().hex}",
                    from_service_id=handoff.service.service_id,
                    service=request.service,
                    extension=request.extension,
                ),
            )
            if not result.ok or result.service is None or result.entry_id is None:
                code = Refusal.NO_SUCH_SERVICE if result.not_found else Refusal.TRANSFER_NOT_ALLOWED
                raise refuse(code, result.reason)
            target = result.service
            if not patches.patched(TRANSFER_SNAPSHOT):
                target = with_cards_of(target, handoff.service)
            self._emit("transferred", handoff, to_service=target.service_name)
            self.conv.handoff = handoff.model_copy(
                update={
                    "service": target,
                    "entry_id": result.entry_id,
                    "enqueued_at": workflow.now(),
                    "agent_id": None,
                    "agent_name": None,
                    "last_notification_at": None,
                    "care": HandoffCare(),
                }
            )
            self._set_status("waiting", service=target.service_name, agent=None)
            self._emit("queued")
            self._append("system", kind="notice", text=f"Transferindo para {target.service_name}.")
            self._moved_on()
            return target.service_name

    @transfer.validator
    def _validate_transfer(self, request: TransferUpdate) -> None:
        self._check_agent(request.agent_id)
        if (request.service is None) == (request.extension is None):
            raise refuse(Refusal.BAD_REQUEST, "give either service or extension")

    @workflow.update
    async def finish(self, request: FinishRequest) -> FinishResult | str:
        """The agent is done: back to the bot (outcome `finished`) or the conversation ends."""
        async with self._lock:
            handoff, since = self._check_agent(request.agent_id), self.conv.seq
            ahead = self._takes_ahead(request.log_ahead)
            await self._omni(OmniActivities.finish, handoff.entry_id)
            wrapped = await self._wrap_up(handoff, request)  # workflows/desk.py
            self._emit("finished", by="agent", return_to_bot=request.return_to_bot, **wrapped)
            self._append("system", kind="notice", text="Atendimento humano encerrado.")
            if self._ask_csat(handoff, request.return_to_bot):
                pass  # the survey first; then the bot (workflows/care.py)
            elif request.return_to_bot:
                await self._end_handoff("finished")
            else:
                self.conv.handoff = None
                self._end()
            self._moved_on()
            if not ahead:
                return self.conv.status
            return self._finished_ahead(since)

    @finish.validator
    def _validate_finish(self, request: FinishRequest) -> None:
        self._check_wrapup(self._check_agent(request.agent_id), request)

    def _check_agent(self, agent_id: str) -> Handoff:
        handoff = self.conv.handoff
        if handoff is None or handoff.agent_id is None:
            raise refuse(Refusal.NOT_IN_SERVICE, "the conversation is not in service")
        if handoff.agent_id != agent_id:
            raise refuse(Refusal.NOT_YOUR_CONVERSATION, "another agent has this conversation")
        return handoff


def _not_waiting(handoff: Handoff | None) -> ApplicationError:
    """`taken` when an agent has the conversation (what a late agent needs to hear)."""
    if handoff is not None and handoff.agent_id is not None:
        return refuse(Refusal.TAKEN, "another agent has taken the conversation")
    return refuse(Refusal.NOT_WAITING, "the conversation is not waiting")
