"""The care rules at runtime (issue 12), mixed into ConversationWorkflow: periodic wait
notices, agents and customers who stop answering, the CSAT survey after human service.

Which timer runs is workflows/care_timers.py (pure); this mixin does what a due one names and
keeps the marks they read (`Handoff.care`, `ConversationState.csat`). Every rule is off unless
the service's `care` settings (omni/service_care.py) or the bot's `wait_time_notice: periodic`
turn it on, so recorded histories never reach this code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.care import AlertRequest, CareActivities, CsatRequest, RequeueRequest
    from activities.first_turn import WaitEstimate
    from activities.omni_queue import OmniActivities
    from bots.models import HumanOutcome
    from omni.care_words import (
        CSAT_OPTIONS,
        CSAT_QUESTION,
        about_minutes,
        csat_score,
        minutes_text,
    )
    from omni.wait_estimate import Notice, Told, honest_figure, worth_telling
    from workflows.care_timers import care_timers, look_counted_from
    from workflows.contracts import CsatPending, Handoff, HandoffCare, Message
    from workflows.timers import Timer, TimerKind

if TYPE_CHECKING:
    from workflows.core import ConversationCore

    class _Core(ConversationCore, Protocol):
        async def _omni(self, activity: Any, arg: Any) -> Any: ...
        async def _end_handoff(self, outcome: HumanOutcome) -> None: ...

else:
    _Core = object

CARE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
CARE_TIMEOUT = timedelta(seconds=10)
CARE_RETRY_THRESHOLD = timedelta(seconds=1)
"""Longer backoffs between a care step's attempts are workflow timers, not a worker's sleep."""
FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
"""Closing a silent customer's contact retries until SQL answers (like the log pump): ending
the run without it would leave the queue row `in_service` for good."""


class CareRules(_Core):
    """Care timers and hooks; ConversationWorkflow provides the core and the Humano block."""

    def _care_timers(self) -> list[Timer]:
        human = self._input.flow.human_service
        periodic = human is not None and human.wait_time_notice == "periodic"
        return care_timers(self.conv, periodic=periodic)

    async def _fire_care(self, timer: Timer) -> None:
        match timer.kind:
            case TimerKind.WAIT_NOTICE:
                await self._periodic_wait_notice(timer.at)
            case TimerKind.AGENT_SILENCE:
                await self._agent_silent()
            case TimerKind.CUSTOMER_SILENCE:
                self._warn_silent_customer()
            case TimerKind.CUSTOMER_CLOSE:
                await self._close_silent_customer()
            case TimerKind.CSAT_TIMEOUT:
                await self._csat_done(None, None)

    def _marks(self, handoff: Handoff, **changes: Any) -> None:
        self.conv.handoff = handoff.model_copy(
            update={"care": handoff.care.model_copy(update=changes)}
        )

    # --- waiting: the periodic wait notice ----------------------------------------------

    async def _periodic_wait_notice(self, due: datetime) -> None:
        """Look at position and estimate again; tell the customer when it changed enough (the
        decision follows the model; what the notice says is `honest_figure`'s: the last figure
        counted down, or that the wait is longer than foreseen). The next look counts from
        `due` (no drift), or from now after a late timer (no burst); a failing estimate skips
        the look."""
        handoff = self.conv.handoff
        assert handoff is not None
        estimate: WaitEstimate | None = await self._care_or_skip(
            OmniActivities.wait_estimate, handoff.entry_id
        )
        handoff = self.conv.handoff
        if handoff is None or handoff.agent_id is not None:
            return  # picked up meanwhile
        marks, care = handoff.care, handoff.service.care
        now = look_counted_from(due, workflow.now(), care.wait_notice_interval_seconds)
        if estimate is None or estimate.position is None or estimate.estimated_wait_seconds is None:
            self._marks(handoff, last_notice_at=now)
            return
        new = Notice(estimate.position, estimate.estimated_wait_seconds)
        last = self._last_notice(handoff)
        checks = marks.notice_checks + 1
        tell = worth_telling(
            last,
            new,
            change=care.wait_notice_change_seconds,
            checks=checks,
            repeat=care.wait_notice_repeat,
        )
        if not tell:
            self._marks(handoff, last_notice_at=now, notice_checks=checks)
            return
        told = self._told(handoff)
        figure = honest_figure(last, new, told, change=care.wait_notice_change_seconds)
        self._append(
            "bot",
            kind="wait_time_notice",
            text=wait_notice_text(new.position, figure),
            data={"estimated_wait_seconds": figure, "position": new.position},
        )
        self._marks(
            handoff,
            last_notice_at=now,
            notice_position=new.position,
            notice_seconds=new.seconds,
            notice_checks=0,
        )

    def _last_notice(self, handoff: Handoff) -> Notice | None:
        """The last notice sent: the marks (the model's figure, told or not), or the one the
        queueing sent (the transcript's)."""
        marks = handoff.care
        if marks.notice_position is not None and marks.notice_seconds is not None:
            return Notice(marks.notice_position, marks.notice_seconds)
        found = next(((m, s) for m, s in self._notices(handoff) if s is not None), None)
        if found is None:
            return None
        message, seconds = found
        return Notice(int((message.data or {})["position"]), seconds)

    def _told(self, handoff: Handoff) -> Told | None:
        """The last figure the customer read in this queue: the newest notice's (at the
        queueing or a periodic one); none left to count down once a notice said the wait is
        longer than foreseen (the figure before it was waited out: no figure again). Pushed
        out of the transcript's tail (hundreds of messages while waiting), the marks' figure,
        counted from the queueing (the later reading: the notice came after it)."""
        now, found = workflow.now(), next(self._notices(handoff), None)
        if found is not None:
            message, seconds = found
            return Told(seconds or 0, (now - message.at).total_seconds())
        seconds = handoff.care.notice_seconds
        if seconds is None:
            return None
        return Told(seconds, (now - handoff.enqueued_at).total_seconds())

    def _notices(self, handoff: Handoff) -> Iterator[tuple[Message, int | None]]:
        """The wait notices of this queue, newest first, with their figure (None: a notice
        that the wait is longer than foreseen)."""
        for message in reversed(self.conv.recent):
            if message.kind != "wait_time_notice" or message.at < handoff.enqueued_at:
                continue
            seconds = (message.data or {}).get("estimated_wait_seconds")
            yield message, None if seconds is None else int(seconds)

    # --- in service: who spoke last -----------------------------------------------------

    def _care_customer_spoke(self) -> None:
        """A customer message in service: the agent owes an answer; no more silence warning."""
        handoff = self.conv.handoff
        if handoff is None or handoff.agent_id is None or handoff.voicemail_until is not None:
            return
        since = handoff.care.customer_waiting_since or workflow.now()
        self._marks(handoff, customer_waiting_since=since, customer_warned_at=None)

    def _care_agent_spoke(self) -> None:
        """An agent message: the customer is answered; the customer's silence counts from now."""
        handoff = self.conv.handoff
        if handoff is None:
            return
        self._marks(
            handoff,
            customer_waiting_since=None,
            agent_alerted=False,
            agent_spoke_at=workflow.now(),
            customer_warned_at=None,
        )
        care = handoff.service.care
        if care.agent_reply_seconds or care.customer_reply_seconds:
            self._moved_on()

    async def _agent_silent(self) -> None:
        """The agent left the customer unanswered too long: alert; with `requeue`, the
        conversation goes back to the front of its queue and the customer is told."""
        handoff = self.conv.handoff
        assert handoff is not None
        care = handoff.service.care
        self._marks(handoff, agent_alerted=True)
        await self._care_or_skip(
            CareActivities.alert,
            AlertRequest(
                alert_id=f"al_{workflow.uuid4().hex}",
                kind="agent_silence",
                conversation_id=self._input.conversation_id,
                service_id=handoff.service.service_id,
                service_name=handoff.service.service_name,
                agent_id=handoff.agent_id,
                agent_name=handoff.agent_name,
                detail=f"cliente sem resposta há {care.agent_reply_seconds} s",
                at=workflow.now(),
            ),
        )
        self._emit("agent_silence", seconds=care.agent_reply_seconds)
        if care.agent_silence_action != "requeue" or not self._still_unanswered(handoff):
            return  # the agent answered, finished or transferred during the alert
        new_entry = f"q_{workflow.uuid4().hex}"
        request = RequeueRequest(entry_id=handoff.entry_id, new_entry_id=new_entry)
        # a requeue that fails after its retries leaves the chat with the agent (alert stands)
        moved = await self._care_or_skip(CareActivities.requeue, request)
        handoff = self.conv.handoff
        if not moved or handoff is None or handoff.agent_id is None:
            return  # the agent finished or transferred meanwhile
        self._emit("requeued", handoff, reason="agent_silence")
        self.conv.handoff = handoff.model_copy(
            update={
                "entry_id": new_entry,
                "enqueued_at": workflow.now(),  # max wait, abandonment count from here
                "agent_id": None,
                "agent_name": None,
                "last_notification_at": None,
                "care": HandoffCare(last_notice_at=workflow.now()),
            }
        )
        self.conv.state = self.conv.state.model_copy(update={"agent": None})
        self._set_status("waiting", agent=None)
        await self._dispatch_freed(self.conv.handoff)
        self._append(
            "system",
            kind="notice",
            text="Desculpe a demora. Você voltou para o início da fila e logo outro"
            " especialista vai te atender.",
        )
        self._moved_on()

    def _still_unanswered(self, before: Handoff) -> bool:
        """The same agent still has the same entry and the customer's message is unanswered."""
        handoff = self.conv.handoff
        return (
            handoff is not None
            and handoff.entry_id == before.entry_id
            and handoff.agent_id == before.agent_id
            and handoff.care.customer_waiting_since is not None
        )

    def _warn_silent_customer(self) -> None:
        handoff = self.conv.handoff
        assert handoff is not None
        close = minutes_text(handoff.service.care.customer_close_seconds)
        self._append(
            "system",
            kind="notice",
            text=f"Você ainda está aí? Sem resposta em {close}, o atendimento será encerrado.",
        )
        self._marks(handoff, customer_warned_at=workflow.now())

    async def _close_silent_customer(self) -> None:
        """The customer did not answer the warning: the contact is finished, the chat closed."""
        handoff = self.conv.handoff
        assert handoff is not None
        await workflow.execute_local_activity_method(
            OmniActivities.finish,
            handoff.entry_id,
            start_to_close_timeout=CARE_TIMEOUT,
            retry_policy=FINISH_RETRY,
            local_retry_threshold=CARE_RETRY_THRESHOLD,
        )
        await self._dispatch_freed(handoff)
        self._emit("finished", by="customer_silence")
        self.conv.handoff = None
        self._append("system", kind="notice", text="Atendimento encerrado por falta de resposta.")
        self._end()

    # --- the satisfaction survey --------------------------------------------------------

    def _ask_csat(self, handoff: Handoff, return_to_bot: bool) -> bool:
        """When the service asks for CSAT: ask now (the bot waits for the answer)."""
        if not handoff.service.care.csat:
            return False
        self.conv.handoff = None
        self.conv.csat = CsatPending(
            handoff=handoff, asked_at=workflow.now(), return_to_bot=return_to_bot
        )
        self._set_status("bot", service=None, agent=None)
        self._append("bot", kind="menu", text=CSAT_QUESTION, options=list(CSAT_OPTIONS))
        self._moved_on()
        return True

    async def _csat_answer(self, text: str) -> None:
        """A customer message while the survey is open: a score (and comment), or ask again."""
        answer = csat_score(text)
        if answer is None:  # not a 1–5 score ("10", "4.5", "talvez"): asked again
            self._append("bot", kind="menu", text=CSAT_QUESTION, options=list(CSAT_OPTIONS))
            return
        await self._csat_done(*answer)

    async def _csat_done(self, score: int | None, comment: str | None) -> None:
        """Store the answer (webhook `csat`, variable `csat`), then the flow goes on."""
        pending = self.conv.csat
        assert pending is not None
        handoff = pending.handoff
        if score is not None:
            await self._care_or_skip(
                CareActivities.save_csat,
                CsatRequest(
                    answer_id=f"cs_{workflow.uuid4().hex}",
                    conversation_id=self._input.conversation_id,
                    service_id=handoff.service.service_id,
                    service_name=handoff.service.service_name,
                    agent_id=handoff.agent_id,
                    agent_name=handoff.agent_name,
                    score=score,
                    comment=comment,
                    at=workflow.now(),
                ),
            )
            self._emit("csat", handoff, score=score, comment=comment)
            self._append("bot", text="Obrigado pela sua avaliação!")
        answer = {"answered": score is not None, "score": score or "", "comment": comment or ""}
        state = self.conv.state
        variables = {**state.variables, "csat": answer}
        self.conv.state = state.model_copy(update={"variables": variables})
        self.conv.csat = None
        self._moved_on()
        if pending.return_to_bot:
            await self._end_handoff("finished")
        else:
            self._end()

    async def _care_or_skip(self, activity: Any, arg: Any) -> Any:
        """A care step that may fail after its retries without failing the run (None then):
        an alert, a requeue, a CSAT answer are worth less than the conversation."""
        try:
            return await workflow.execute_local_activity_method(
                activity,
                arg,
                start_to_close_timeout=CARE_TIMEOUT,
                retry_policy=CARE_RETRY,
                local_retry_threshold=CARE_RETRY_THRESHOLD,
            )
        except FailureError:  # ActivityError, or the cause itself (a local activity)
            workflow.logger.warning("care step %s failed: skipped", activity.__name__)
            return None


LONGER_THAN_FORESEEN = (
    "A espera está maior que o previsto: um atendente vai falar com você assim que estiver livre."
)


def wait_notice_text(position: int, seconds: int | None) -> str:
    """The periodic notice: the place in line and the estimate, in pt-BR; with no figure
    (`omni.wait_estimate.honest_figure`: the customer waited out the last one), that the wait
    is longer than foreseen."""
    if seconds is None:
        return f"Você é o {position}º da fila. {LONGER_THAN_FORESEEN}"
    return f"Você é o {position}º da fila. Tempo estimado de espera: {about_minutes(seconds)}."
