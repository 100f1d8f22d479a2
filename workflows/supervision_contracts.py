"""The supervisor's Update crossing the workflow boundary: one action on a live conversation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from workflows.contracts import Message

SupervisorActionKind = Literal["whisper", "barge_in", "take_over", "reassign"]


class SupervisorRequest(BaseModel):
    """The `supervise` Update. `whisper` and `barge_in` carry `text`; `take_over` and
    `reassign` name the agent (`agent_id`, the supervisor's own agent account for a take-over)
    or, for `reassign` only, a `service` to queue in."""

    action_id: str
    action: SupervisorActionKind
    supervisor: str
    text: str | None = None
    agent_id: str | None = None
    service: str | None = None


class SupervisorResult(BaseModel):
    """What the action did: the transcript entry it wrote (whisper, barge-in) and where the
    conversation is now."""

    action_id: str
    action: SupervisorActionKind
    message: Message | None = None
    agent: str | None = None
    service: str | None = None
    status: str
