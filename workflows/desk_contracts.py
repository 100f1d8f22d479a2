"""The desk's Updates crossing the workflow boundary: an internal note, the tags."""

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
