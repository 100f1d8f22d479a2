"""What the conversation log needs of the workflow's types (store/conversations.py).

Protocols, so the store does not import the workflow's contracts: `workflows.contracts`'
`Message`, `RecordBatch` and `LogStatus` fit them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol


class LoggedMessage(Protocol):
    """What the log needs of a transcript entry (``workflows.contracts.Message`` fits)."""

    @property
    def seq(self) -> int: ...
    @property
    def sender(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str | None: ...
    @property
    def options(self) -> list[str] | None: ...
    @property
    def data(self) -> dict[str, Any] | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...


class RowStatus(Protocol):
    """The row's columns an Update leaves behind (``workflows.contracts.LogStatus`` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def block(self) -> str | None: ...
    @property
    def service(self) -> str | None: ...
    @property
    def agent(self) -> str | None: ...


class LogBatch(RowStatus, Protocol):
    """What the log needs of a record batch (``workflows.contracts.RecordBatch`` fits): the
    row's status columns, and what creates the row and fills the transcript."""

    @property
    def conversation_id(self) -> str: ...
    @property
    def workflow_id(self) -> str: ...
    @property
    def bot(self) -> str: ...
    @property
    def bot_version(self) -> int: ...
    @property
    def contact_id(self) -> str: ...
    @property
    def messages(self) -> Sequence[LoggedMessage]: ...
    @property
    def through(self) -> int | None: ...
