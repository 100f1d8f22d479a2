"""Agents' attachments in the conversation, mixed into ConversationWorkflow.

The API stores the file first (api/usecases/attachments.py), then sends the Update
`agent_attachment` with its reference: the entry is an agent message whose `data["attachment"]`
is `{id, name, type, size}` (omni.attachments.AttachmentRef) and whose text names the file, so
a reader that knows no attachments (a channel outbox, an old screen) still shows something.
A customer's attachment needs no Update: it is a customer message with the same `data`.
A new Update on the class changes nothing for existing histories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from omni.attachments import AttachmentRef
    from workflows.contracts import Handoff, Message

if TYPE_CHECKING:
    from workflows.core import ConversationCore

    class _Core(ConversationCore, Protocol):
        def _check_agent(self, agent_id: str) -> Handoff: ...

else:
    _Core = object


class AgentAttachment(BaseModel):
    agent_id: str
    attachment: AttachmentRef


def attachment_text(name: str) -> str:
    """The entry's text: the file's name after a clip."""
    return f"📎 {name}"


class AttachmentActions(_Core):
    """The `agent_attachment` Update; the workflow provides the Humano block's `_check_agent`."""

    @workflow.update
    def agent_attachment(self, request: AgentAttachment) -> Message:
        """A file from the agent, to the customer (stored by the API before)."""
        handoff = self._check_agent(request.agent_id)
        data: dict[str, object] = {"attachment": request.attachment.model_dump()}
        if handoff.show_agent_name:
            data["agent"] = handoff.agent_name
        text = attachment_text(request.attachment.name)
        message = self._append("agent", text=text, data=data)
        self._care_agent_spoke()
        self._emit("message", **{"from": "agent", "text": text, "seq": message.seq})
        return message

    @agent_attachment.validator
    def _validate_agent_attachment(self, request: AgentAttachment) -> None:
        self._check_agent(request.agent_id)
