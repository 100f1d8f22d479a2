"""The agent's desk: wrap-up settings of a service, quick replies, tags (pure models and rules).

A service may require a wrap-up code ("tabulação") from its list before an agent finishes;
tags are free words an agent puts on a conversation; quick replies ("respostas rápidas") are
texts an agent expands from a shortcut typed in the message box (`/boleto`), global or per
service, rendered with the conversation's placeholders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails

from omni.field_errors import FieldCode, first_repeated, refused
from omni.names import name_key

NOTE_KIND = "note"
"""The transcript kind of an agent's internal note: never shown to the customer."""
WHISPER_KIND = "whisper"
"""A supervisor's words to the agent only ("Supervisor (só para você)"): never for the customer."""
SUPERVISOR_NOTICE_KIND = "supervisor_notice"
"""The agent's notice of a supervisor's action (take-over, reassignment): never for the customer."""
AGENT_ONLY_KINDS = frozenset({NOTE_KIND, WHISPER_KIND, SUPERVISOR_NOTICE_KIND})
"""Transcript kinds for agents and supervisors only: every customer-facing read drops them."""
MAX_WRAPUP_CODES = 50
MAX_TAGS = 20
SHORTCUT_PATTERN = r"^/[a-z0-9][a-z0-9_-]{0,39}$"
"""A shortcut: a slash, then lower-case letters, digits, `_` or `-` (`/boleto`)."""


def _trimmed(value: str) -> str:
    value = value.strip()
    if not value:
        raise refused(FieldCode.BLANK, "may not be blank")
    return value


def _unique(values: list[str]) -> list[str]:
    if (twice := first_repeated(values)) is not None:
        raise refused(FieldCode.REPEATED, "lists {value} twice", value=twice)
    return values


Label = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_trimmed)]
Tags = Annotated[list[Label], Field(max_length=MAX_TAGS)]


class WrapUpSettings(BaseModel):
    """A service's wrap-up codes; with `required`, an agent finishes only with one of them."""

    model_config = ConfigDict(extra="forbid")

    required: Annotated[bool, Field(strict=True)] = False
    codes: Annotated[list[Label], Field(max_length=MAX_WRAPUP_CODES), AfterValidator(_unique)] = (
        Field(default_factory=list)
    )


def distinct_wrapup_codes(cls: type, wrapup: WrapUpSettings | None) -> WrapUpSettings | None:
    """A validator of the requests' `wrapup`: agents pick a code from the list, so two that
    differ only in case or accents ("Venda", "vénda") are one code written twice (on writes
    only: a list stored before still reads)."""
    seen: dict[str, str] = {}
    for index, code in enumerate(wrapup.codes if wrapup is not None else []):
        if (first := seen.setdefault(name_key(code), code)) != code:
            same: InitErrorDetails = {  # said at the code (wrapup.codes.N)
                "type": refused(
                    FieldCode.SAME_CODE,
                    "codes '{first}' and '{code}' are the same code",
                    first=first,
                    code=code,
                ),
                "loc": ("codes", index),
                "input": code,
            }
            raise ValidationError.from_exception_data("wrapup", [same])
    return wrapup


def wrapup_refusal(required: bool, codes: list[str], code: str | None) -> str | None:
    """Why a finish with `code` is refused (None when it may finish): a required code is
    missing, or the code is not in the service's list."""
    if code is None:
        return f"a wrap-up code is required: {', '.join(codes)}" if required and codes else None
    if not codes:
        return "unknown wrap-up code: the service has no wrap-up codes now; finish without one"
    if code not in codes:
        return f"unknown wrap-up code; use one of: {', '.join(codes)}"
    return None


def clean_tags(tags: list[str]) -> list[str]:
    """Tags trimmed, without repeats (case-insensitive), in the order given."""
    seen: set[str] = set()
    out = []
    for tag in tags:
        tag = tag.strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


class QuickReplyCreate(BaseModel):
    """A quick reply: `service` None means every service (global)."""

    model_config = ConfigDict(extra="forbid")

    shortcut: Annotated[str, Field(pattern=SHORTCUT_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_trimmed)]
    text: Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_trimmed)]
    service: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class QuickReplyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: Annotated[str, Field(pattern=SHORTCUT_PATTERN)] | None = None
    title: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_trimmed)] | None = (
        None
    )
    text: Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_trimmed)] | None = (
        None
    )


class QuickReplyPublic(BaseModel):
    id: str
    shortcut: str
    title: str
    text: str
    service: str | None = Field(description="Service name; null for a global quick reply.")
    revision: int = Field(
        default=1, description="Counts its changes; `ETag`/`If-Match` (docs/omni.md)."
    )
    created_at: datetime
    updated_at: datetime
