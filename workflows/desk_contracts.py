"""The desk's Updates crossing the workflow boundary: an internal note, the tags; the wrap-up
settings a finish is checked against."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NoteRequest(BaseModel):
    """The `add_note` Update: a note only agents and supervisors see."""

    agent_id: str
    text: str


class TagsRequest(BaseModel):
    """The `set_tags` Update: the conversation's free tags (replacing the ones set before)."""

    agent_id: str
    tags: list[str] = Field(default_factory=list)


class WrapUpNow(BaseModel):
    """A service's wrap-up settings when the agent finishes, read by the API (FinishRequest):
    the supervisor's change applies to the conversations already queued, and the finish checks
    the very list the agent's screen shows (GET .../wrapup-codes)."""

    required: bool = False
    codes: list[str] = Field(default_factory=list)
