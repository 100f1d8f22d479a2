"""The channel API's models: a customer's message in, the transcript and conversation out."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omni.names import contact_name
from store.conversations import MessageRow
from store.tables import SEQ_MAX
from workflows.contracts import AGENT_KEY_PREFIX as AGENT_KEY_PREFIX
from workflows.contracts import MAX_MESSAGE_ID_LENGTH, MAX_TEXT_LENGTH, Message
from workflows.contracts import agent_key as agent_key  # an agent's reply's id (its Update's)

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 control characters and DEL, but tab, line feed and carriage return."""
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""A query parameter's pattern: no `CONTROL` character."""
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""`CONTROL` and lone UTF-16 surrogates (in a decoded string every surrogate is a lone one)."""
SHOWS_NOTHING = frozenset({"Cf", "Zs", "Zl", "Zp"})
"""Unicode categories that show nothing: format characters (zero-width space and joiners,
U+2060 word joiner, U+FEFF, soft hyphen, direction marks) and spaces (other controls than the
blank ones are refused as such: `CONTROL`)."""
SHOWN_FORMATS = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2")
"""Format characters with a glyph of their own (Arabic and Syriac number signs)."""
BLANKS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
"""Others that show as nothing: the grapheme joiner, Hangul and Khmer fillers, blank Braille."""
MAX_CONTACT_DEPTH = 16
"""Levels of lists and objects a contact's extra field may nest (a 422 beyond)."""


def shows_nothing(text: str) -> bool:
    """Whether `text` has nothing to see: only white space, format characters, variation
    selectors and `BLANKS` (two zero-width spaces are as empty as two spaces; an emoji is not)."""
    return all(
        char.isspace()
        or (unicodedata.category(char) in SHOWS_NOTHING and char not in SHOWN_FORMATS)
        or char in BLANKS
        or "\ufe00" <= char <= "\ufe0f"
        or "\U000e0100" <= char <= "\U000e01ef"
        for char in text
    )


def printable(text: str) -> str:
    """`text` with each `CONTROL` character and lone surrogate as U+FFFD: what a platform sent is
    taken, not lost (a form feed pasted from a PDF), and stored as nobody's control character
    (a lone surrogate cannot be written as UTF-8 at all)."""
    return UNPRINTABLE.sub("\ufffd", text)


class ContactIn(BaseModel):
    """Who the customer is: a name and a few extra fields for the flow (`{{ contact.cpf }}`).

    The extras are copied into the workflow input and every message, so they are bounded
    (TRANSBORDO_CONTACT_MAX_KEYS, _MAX_KEY_LENGTH, _MAX_VALUE_LENGTH, _MAX_BYTES)."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, max_length=200)

    @field_validator("name", mode="before")
    @classmethod
    def _cleaned(cls, name: object) -> object:
        """Cleaned, never refused (omni/names.py `contact_name`): the message is the customer's
        whatever the profile holds; nothing left is no name (the flow's no-name branch)."""
        return contact_name(name) if isinstance(name, str) else name

    @model_validator(mode="after")
    def _bounded_extras(self) -> ContactIn:
        if _too_deep(self.model_extra or {}):
            raise ValueError(f"contact fields may nest at most {MAX_CONTACT_DEPTH} levels")
        if _has_nul(self.model_dump()):
            raise ValueError("contact fields may not contain the NUL character")
        from transbordo.settings import get_settings  # like bots/limits.py: read in one place

        settings = get_settings()
        extra = self.model_extra or {}
        if len(extra) > settings.contact_max_keys:
            raise ValueError(f"contact has more than {settings.contact_max_keys} extra fields")
        for key, value in extra.items():
            if len(key) > settings.contact_max_key_length:
                raise ValueError(
                    f"a contact field name is longer than {settings.contact_max_key_length}"
                    " characters"
                )
            if len(_as_json(value)) > settings.contact_max_value_length:
                raise ValueError(
                    f"contact field {key[:64]!r} is longer than"
                    f" {settings.contact_max_value_length} characters"
                )
        size = len(_as_json(self.model_dump()).encode())
        if size > settings.contact_max_bytes:
            raise ValueError(f"contact is larger than {settings.contact_max_bytes} bytes")
        return self


def _too_deep(extras: dict[str, Any]) -> bool:
    """Whether a value nests lists and objects deeper than `MAX_CONTACT_DEPTH` (iterative)."""
    stack: list[tuple[int, Any]] = [(0, value) for value in extras.values()]
    while stack:
        depth, item = stack.pop()
        children = list(item.values()) if isinstance(item, dict) else item
        if not isinstance(children, list):
            continue
        if children and depth >= MAX_CONTACT_DEPTH:
            return True
        stack.extend((depth + 1, child) for child in children)
    return False


def _has_nul(value: Any) -> bool:
    """Whether a key or string in `value` holds a NUL (iterative)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class MessageIn(BaseModel):
    """A customer message from a channel. A connector names the contact; a web session's
    contact is the session's own (give none, or the same)."""

    contact_id: str | None = Field(default=None, min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=MAX_MESSAGE_ID_LENGTH)
    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    contact: ContactIn | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        """Refused here, before any conversation is started for it: nothing visible (spaces, a
        zero-width space, U+FEFF) is no message."""
        if shows_nothing(text):
            raise ValueError("text is empty (nothing visible)")
        return text

    @field_validator("message_id")
    @classmethod
    def _not_an_agents(cls, message_id: str) -> str:
        """The Update of a customer's message takes its id, so it must not look like an
        agent's reply's (`agent_key`): Temporal would answer the customer with that reply."""
        if message_id.startswith(AGENT_KEY_PREFIX):
            raise ValueError(f"message_id may not start with {AGENT_KEY_PREFIX!r}")
        return message_id

    @field_validator("contact_id", "message_id", "text")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """No control characters but tab and line breaks: they show as nothing, and
        PostgreSQL's text cannot hold a NUL at all."""
        if value is not None and CONTROL.search(value):
            raise ValueError("control characters (other than tab and line breaks) are not allowed")
        return value


class MessagePublic(BaseModel):
    seq: int
    sender: str = Field(serialization_alias="from")
    kind: str
    text: str | None = None
    options: list[str] | None = None
    data: dict[str, Any] | None = None
    at: datetime
    message_id: str | None = Field(
        default=None,
        description="The id the reader itself gave this message (a web session's customer"
        " messages, an agent's own replies), so a client tells two sends of the same text"
        " apart; null on anyone else's.",
    )


class TurnPublic(BaseModel):
    conversation_id: str | None
    status: str
    replies: list[MessagePublic]


class ConversationPublic(BaseModel):
    conversation_id: str
    status: str
    bot: str
    bot_version: int
    block: str | None
    service: str | None
    position: int | None = None
    estimated_wait_seconds: int | None = None
    last_seq: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Reader:
    """Who reads a transcript, for the one field that depends on it: the `message_id` of the
    entries the reader sent itself, which a page matches its sends to (two sends of the same
    text are told apart). Anyone else's id is never shown: a customer's may be a keyed hash of
    a platform's id, an agent's is that agent's."""

    sender: str
    prefix: str = ""
    """How the log keeps this reader's ids: a customer's as given, an agent's under its own
    prefix (`agent_key`)."""

    def own_id(self, sender: str, message_id: str | None) -> str | None:
        if sender != self.sender or message_id is None or not message_id.startswith(self.prefix):
            return None
        return message_id[len(self.prefix) :]


CUSTOMER = Reader("customer")
"""A web session: every customer entry of a conversation it may read is its contact's own."""


def agent_reader(agent_id: str) -> Reader:
    return Reader("agent", agent_key(agent_id, ""))


def public_message(message: Message, reader: Reader | None = None) -> MessagePublic:
    """A transcript entry of the workflow as the public model (`reader`: who may see its id)."""
    return MessagePublic(
        seq=message.seq,
        sender=message.sender,
        kind=message.kind,
        text=message.text,
        options=message.options,
        data=message.data,
        at=message.at,
        message_id=reader.own_id(message.sender, message.message_id) if reader else None,
    )


def public_row(row: MessageRow, reader: Reader | None = None) -> MessagePublic:
    """A message row of the SQL log as the public model (`reader`: who may see its id)."""
    data = dict(row.data or {})
    options = data.pop("options", None)
    return MessagePublic(
        seq=row.seq,
        sender=row.sender,
        kind=row.kind,
        text=row.text,
        options=options,
        data=data or None,
        at=row.created_at,
        message_id=reader.own_id(row.sender, row.message_id) if reader else None,
    )


class ChannelCredentialCreate(BaseModel):
    """An admin issues a connector credential for one bot."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Who uses it, e.g. 'CRM'.")


class ChannelCredentialPublic(BaseModel):
    id: str
    bot: str
    name: str
    token_prefix: str
    created_at: datetime


class ChannelCredentialCreated(ChannelCredentialPublic):
    token: str
    """The bearer token, shown this once (only its hash is kept)."""


class WebSessionPublic(BaseModel):
    """A browser's session with one bot: present `token` as `Authorization: Bearer`."""

    token: str
    contact_id: str
    expires_at: datetime


AfterSeq = Annotated[int, Query(ge=0, le=SEQ_MAX, description="Messages after this seq.")]
PageSize = Annotated[int, Query(ge=1, le=500, description="At most this many messages.")]
"""The transcript's paging, the same for the channel and the agent routes."""
