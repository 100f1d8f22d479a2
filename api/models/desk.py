"""The desk's API models: notes, tags, wrap-up codes, quick replies, the contact's history and the
supervisor's search."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.models.channel import MessagePublic
from omni.desk import QuickReplyCreate, QuickReplyPublic, QuickReplyUpdate, Tags
from workflows.contracts import MAX_TEXT_LENGTH

__all__ = [
    "ConversationSummary",
    "NoteBody",
    "QuickReplyCreate",
    "QuickReplyPublic",
    "QuickReplyRendered",
    "QuickReplyUpdate",
    "TagsBody",
    "WrapUpCodes",
]


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)


class TagsBody(BaseModel):
    tags: Tags


class WrapUpCodes(BaseModel):
    """The wrap-up codes of the conversation's service (and whether one is required)."""

    required: bool
    codes: list[str]


class QuickReplyRendered(BaseModel):
    id: str
    shortcut: str
    text: str = Field(description="The text with the conversation's placeholders filled in.")


class ConversationSummary(BaseModel):
    """A conversation with its labels (the supervisor's search, the contact's history)."""

    conversation_id: str
    bot: str
    status: str = Field(description="`bot`, `waiting`, `in_service`, `voicemail` or `ended`.")
    queue_status: str | None = Field(
        default=None,
        description="How its last queue entry stands or ended (`waiting`, `in_service`,"
        " `finished`, `abandoned`, `transferred`, `voicemail`); null: never queued.",
    )
    service: str | None = Field(
        description="The service it waits or is served in; once closed, the last it was queued in."
    )
    agent: str | None = Field(
        description="The agent who has it; once closed, the last agent who served it."
    )
    agents: list[str] = Field(
        default_factory=list,
        description="Every agent who served it, first served first (a transfer: more than one).",
    )
    tags: list[str]
    wrapup_codes: list[str]
    created_at: datetime
    updated_at: datetime
    messages: list[MessagePublic] | None = None
    csat_score: int | None = None
    """The customer's satisfaction answer (1–5, the latest); None when not answered."""
    csat_comment: str | None = None
