"""The agent's desk in the conversation, mixed into ConversationWorkflow: internal notes, tags,
and the wrap-up of a finish.

A note is a transcript entry of kind `note` (omni.desk.NOTE_KIND) from the agent: it keeps the
transcript's one sequence, is recorded by the pump like any entry, shows in the pickup's
transcript for the next agent, and every reader the customer sees drops it (the reply of a
turn here, the channel routes, the `answer_of` lookup); it emits no webhook event. A finish
records its wrap-up code and the tags through one local activity (patch `desk-wrapup`), puts
them in the `finished` event and in the flow variables `wrapup_code` and `tags`. A finish also
asks for the transcript e-mail (workflows/transcript_mail.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.desk import DeskActivities, LabelsRequest
    from omni.desk import NOTE_KIND, clean_tags, wrapup_refusal
    from workflows.contracts import MAX_TEXT_LENGTH, FinishRequest, Handoff, Message
    from workflows.desk_contracts import NoteRequest, TagsRequest
    from workflows.refusals import Refusal, refuse

from workflows import patches

DESK_WRAPUP = "desk-wrapup"
"""Patch id: a finish with a wrap-up code or tags records them (one local activity) and passes
them to the `finished` event and the flow's variables."""

TAGS_LOCKED = "tags-locked"
"""Patch id: `set_tags` waits for the workflow's lock (a finish or transfer in progress)."""

if TYPE_CHECKING:
    from workflows.core import ConversationCore

    class _Core(ConversationCore, Protocol):
        def _check_agent(self, agent_id: str) -> Handoff: ...
        async def _omni(self, activity: Any, arg: Any) -> Any: ...

else:
    _Core = object


class DeskActions(_Core):
    """Notes, tags and the wrap-up; the workflow provides `ConversationCore` and the Humano
    block's `_check_agent` and `_omni`."""

    @workflow.update
    def add_note(self, request: NoteRequest) -> Message:
        """An internal note on the conversation (never shown to the customer)."""
        handoff = self._check_agent(request.agent_id)
        return self._append(
            "agent", kind=NOTE_KIND, text=request.text, data={"agent": handoff.agent_name}
        )

    @add_note.validator
    def _validate_note(self, request: NoteRequest) -> None:
        self._check_agent(request.agent_id)
        if not request.text.strip() or len(request.text) > MAX_TEXT_LENGTH:
            raise refuse(Refusal.BAD_REQUEST, f"text must have 1 to {MAX_TEXT_LENGTH} characters")

    @workflow.update
    async def set_tags(self, request: TagsRequest) -> list[str]:
        """The conversation's free tags (the next agent and the finish keep them). Taken under
        the lock (patch `tags-locked`): tags set while a finish or a transfer awaits its SQL
        step were dropped by it, silently; now they wait for it, and after it the agent no
        longer has the conversation and is told so."""
        if not patches.patched(TAGS_LOCKED):
            return self._set_tags(request)
        async with self._lock:
            return self._set_tags(request)

    def _set_tags(self, request: TagsRequest) -> list[str]:
        handoff = self._check_agent(request.agent_id)
        tags = clean_tags(request.tags)
        self.conv.handoff = handoff.model_copy(update={"tags": tags})
        return tags

    @set_tags.validator
    def _validate_tags(self, request: TagsRequest) -> None:
        self._check_agent(request.agent_id)
        if len(request.tags) > 20 or any(len(tag) > 60 for tag in request.tags):
            raise refuse(Refusal.BAD_REQUEST, "at most 20 tags of up to 60 characters")

    @workflow.query
    def desk_context(self) -> dict[str, Any]:
        """What a quick reply's placeholders see: the flow's variables, `contact`, `agent`."""
        return self.conv.state.context()

    def _check_wrapup(self, handoff: Handoff, request: FinishRequest) -> None:
        """Refuse a finish without the wrap-up code the service requires (or an unknown one):
        of the settings the request carries (the service's now, read by the API, as the agent's
        screen lists them), else of the copy taken when the customer queued. Only the
        validator calls it, and a replay runs no validator (a refused Update leaves no event),
        so the change needs no patch."""
        now = request.wrapup
        required, codes = (
            (now.required, now.codes)
            if now is not None
            else (handoff.service.wrapup_required, handoff.service.wrapup_codes)
        )
        reason = wrapup_refusal(required, codes, request.wrapup_code)
        if reason is not None:
            raise refuse(Refusal.WRAPUP_REQUIRED, reason)

    async def _wrap_up(self, handoff: Handoff, request: FinishRequest) -> dict[str, Any]:
        """Record the finish's wrap-up code and tags; what the `finished` event adds."""
        self._mail_transcript(handoff)  # workflows/transcript_mail.py (at every finish)
        tags = clean_tags([*handoff.tags, *request.tags])
        if request.wrapup_code is None and not tags:
            return {}
        if not patches.patched(DESK_WRAPUP):
            return {}
        await self._omni(
            DeskActivities.record_labels,
            LabelsRequest(
                conversation_id=self._input.conversation_id,
                wrapup_code=request.wrapup_code,
                tags=tags,
                service=handoff.service.service_name,
                agent=handoff.agent_name,
            ),
        )
        state = self.conv.state
        variables = {**state.variables, "wrapup_code": request.wrapup_code, "tags": tags}
        self.conv.state = state.model_copy(update={"variables": variables})
        return {"wrapup_code": request.wrapup_code, "tags": tags}
