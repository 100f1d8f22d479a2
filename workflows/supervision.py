"""The supervisor's actions on a conversation in service, mixed into ConversationWorkflow.

One Update, `supervise`: a **whisper** (a transcript entry of kind `whisper`, for the agent only),
a **barge-in** (a message from the supervisor to the customer, sender `supervisor`), a
**take-over** (the supervisor's agent account becomes the handling agent) or a **reassign** (to
another agent, or to the back of another service's queue; the transfer group does not bind a
supervisor). Every action is audited in SQL (one local activity, idempotent by the action's id);
a take-over or reassignment also leaves a `supervisor_notice` in the transcript for the agents.
Whispers and notices are in `omni.desk.AGENT_ONLY_KINDS`: no customer-facing read shows them.
New Updates only: existing histories never ran them, so no patch is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.supervision import (
        ActionRecord,
        AgentMove,
        ServiceMove,
        SupervisionActivities,
    )
    from omni.desk import SUPERVISOR_NOTICE_KIND, WHISPER_KIND
    from workflows.contracts import MAX_TEXT_LENGTH, Handoff, HandoffCare, Message
    from workflows.refusals import Refusal, refuse
    from workflows.supervision_contracts import SupervisorRequest, SupervisorResult

if TYPE_CHECKING:
    from workflows.core import ConversationCore

    class _Core(ConversationCore, Protocol):
        async def _omni(self, activity: Any, arg: Any) -> Any: ...

else:
    _Core = object


class SupervisorActions(_Core):
    """Whisper, barge-in, take-over, reassign; the workflow provides `ConversationCore` and the
    Humano block's `_omni`."""

    @workflow.update
    async def supervise(self, request: SupervisorRequest) -> SupervisorResult:
        """One supervisor action on the conversation in service (audited)."""
        async with self._lock:
            handoff = _in_service(self.conv.handoff)
            message: Message | None = None
            target: str | None = None
            if request.action == "whisper":
                message = self._append(
                    "system",
                    kind=WHISPER_KIND,
                    text=request.text,
                    data={"supervisor": request.supervisor},
                )
            elif request.action == "barge_in":
                message = self._append(
                    "supervisor", text=request.text, data={"supervisor": request.supervisor}
                )
                self._care_agent_spoke()
                self._emit(
                    "message",
                    **{"from": "supervisor", "text": request.text, "seq": message.seq},
                )
            elif request.agent_id is not None:
                target = await self._to_agent(handoff, request)
            else:
                target = await self._to_service(handoff, request)
            await self._omni(
                SupervisionActivities.record_action,
                ActionRecord(
                    id=request.action_id,
                    conversation_id=self._input.conversation_id,
                    action=request.action,
                    supervisor=request.supervisor,
                    agent=handoff.agent_name,
                    target=target,
                    at=workflow.now(),
                ),
            )
            self._moved_on()
            now = self.conv.handoff
            return SupervisorResult(
                action_id=request.action_id,
                action=request.action,
                message=message,
                agent=now.agent_name if now else None,
                service=now.service.service_name if now else None,
                status=self.conv.status,
            )

    @supervise.validator
    def _validate_supervise(self, request: SupervisorRequest) -> None:
        _in_service(self.conv.handoff)
        if request.action in ("whisper", "barge_in"):
            text = request.text or ""
            if not text.strip() or len(text) > MAX_TEXT_LENGTH:
                raise refuse(
                    Refusal.BAD_REQUEST, f"text must have 1 to {MAX_TEXT_LENGTH} characters"
                )
        elif request.action == "take_over" and request.agent_id is None:
            raise refuse(Refusal.BAD_REQUEST, "a take-over names the supervisor's agent account")
        elif request.action == "reassign" and (request.agent_id is None) == (
            request.service is None
        ):
            raise refuse(Refusal.BAD_REQUEST, "give either agent or service")

    async def _to_agent(self, handoff: Handoff, request: SupervisorRequest) -> str:
        """Another agent (or the supervisor) has the conversation now; the customer is told who."""
        assert request.agent_id is not None
        name: str | None = await self._omni(
            SupervisionActivities.reassign_agent,
            AgentMove(entry_id=handoff.entry_id, agent_id=request.agent_id),
        )
        if name is None:
            raise refuse(Refusal.NO_SUCH_AGENT, f"no agent {request.agent_id!r}")
        self.conv.handoff = handoff.model_copy(
            update={"agent_id": request.agent_id, "agent_name": name}
        )
        state = self.conv.state
        self.conv.state = state.model_copy(update={"agent": {"name": name}})
        self._set_status("in_service", agent=name)
        self._emit("reassigned", to_agent=name, by=request.supervisor)
        notice = (
            f"Supervisor {request.supervisor} assumiu o atendimento."
            if request.action == "take_over"
            else f"Supervisor {request.supervisor} passou o atendimento para {name}."
        )
        self._append(
            "system",
            kind=SUPERVISOR_NOTICE_KIND,
            text=notice,
            data={"supervisor": request.supervisor, "action": request.action, "agent": name},
        )
        who = name if handoff.show_agent_name else "um de nossos especialistas"
        self._append("system", kind="notice", text=f"Você está sendo atendido por {who}.")
        return name

    async def _to_service(self, handoff: Handoff, request: SupervisorRequest) -> str:
        """The conversation goes to the back of another service's queue; the agent is freed."""
        assert request.service is not None
        entry_id = f"q_{workflow.uuid4().hex}"
        target = await self._omni(
            SupervisionActivities.reassign_service,
            ServiceMove(entry_id=handoff.entry_id, new_entry_id=entry_id, service=request.service),
        )
        if target is None:
            raise refuse(Refusal.NO_SUCH_SERVICE, f"no service {request.service!r}")
        self._emit("transferred", handoff, to_service=target.service_name)
        self._append(
            "system",
            kind=SUPERVISOR_NOTICE_KIND,
            text=f"Supervisor {request.supervisor} transferiu o atendimento para"
            f" {target.service_name}.",
            data={"supervisor": request.supervisor, "action": "reassign"},
        )
        self.conv.handoff = handoff.model_copy(
            update={
                "service": target,
                "entry_id": entry_id,
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
        return str(target.service_name)


def _in_service(handoff: Handoff | None) -> Handoff:
    """The handoff, when an agent has the conversation (what every action needs)."""
    if handoff is None or handoff.agent_id is None:
        raise refuse(Refusal.NOT_IN_SERVICE, "the conversation is not in service")
    return handoff
