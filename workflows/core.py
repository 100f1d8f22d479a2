"""What the conversation workflow provides to its blocks: the members the Humano block may use.

`HumanoBlock` (workflows/humano.py) is typed against `ConversationCore`, and
`ConversationWorkflow` (workflows/conversation.py) implements it; nothing else is shared, so
mypy names any member the Humano code uses without declaring it here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.first_turn import QueuedRecord
    from workflows.contracts import (
        ConversationInput,
        ConversationState,
        FinishRequest,
        FinishResult,
        Handoff,
        LogStatus,
        Message,
        Sender,
        Status,
    )
    from workflows.interpreter import Turn
    from workflows.written_ahead import WrittenAhead

if TYPE_CHECKING:
    from workflows.queueing import Queued


class Unset:
    """Marks a keyword argument that was not given (None means "clear it")."""


UNSET = Unset()


class ConversationCore(Protocol):
    """The conversation's state, its lock and outbox, and the helpers that change them."""

    _input: ConversationInput
    conv: ConversationState
    """The whole state of the conversation (carried through continue-as-new)."""
    _lock: asyncio.Lock
    """Held by every handler and timer that awaits while changing `conv`."""
    _written: WrittenAhead
    """What callers write to the SQL log themselves (workflows/message_log.py)."""

    def _append(
        self,
        sender: Sender,
        *,
        text: str | None,
        kind: str = "text",
        options: list[str] | None = None,
        data: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> Message:
        """Add one transcript entry (recorded in the SQL log by the workflow's pump)."""
        ...

    def _left_tail(self, dropped: list[Message]) -> None:
        """Entries pushed out of `conv.recent` (workflows/channel_outbox.py)."""
        ...

    def _takes_ahead(self, log_ahead: bool) -> bool:
        """Whether a request's entries are its caller's to write (workflows/message_log.py)."""
        ...

    def log_behind(self) -> None:
        """Record at once what callers should have written (workflows/message_log.py)."""
        ...

    def _written_ahead(self, messages: list[Message]) -> LogStatus | None:
        """Entries a `log_ahead` caller writes itself (workflows/message_log.py)."""
        ...

    def _finished_ahead(self, since: int) -> FinishResult:
        """A finish's answer to a caller who writes its entries (workflows/message_log.py)."""
        ...

    def _queued_record(self, block_text: str | None, notice: bool) -> QueuedRecord | None:
        """The first turn for the hand-over to record (workflows/message_log.py)."""
        ...

    def _took_recorded(self, record: QueuedRecord | None, queued: Queued | None) -> None:
        """The hand-over's answer about its recording (workflows/message_log.py)."""
        ...

    def _set_status(
        self,
        status: Status,
        *,
        service: str | None | Unset = UNSET,
        agent: str | None | Unset = UNSET,
    ) -> None:
        """Change the status (and service/agent) for the SQL log and the Temporal UI."""
        ...

    async def _follow(self, step: Callable[[], Turn]) -> None:
        """Run interpreter steps until the flow awaits the customer (or hands over again)."""
        ...

    def _end(self) -> None:
        """The conversation ends (the run finishes once nothing is in flight)."""
        ...

    def _idle(self) -> bool:
        """Nothing in flight: the run may close or continue as new."""
        ...

    def _deliveries_idle(self) -> bool:
        """No handler running, nothing being sent (webhooks, channel, mail); the log aside."""
        ...

    def _log_idle(self) -> bool:
        """Nothing left to record in the SQL log (workflows/message_log.py)."""
        ...

    def _emit(self, kind: str, handoff: Handoff | None = None, /, **data: Any) -> None:
        """Queue an event for the service's external webhook (when it has one)."""
        ...

    async def _offer_if_auto(self) -> None:
        """Just queued in an auto service: make the offers possible now (workflows/offers.py)."""
        ...

    async def _dispatch_freed(self, handoff: Handoff | None) -> None:
        """A slot was freed here (workflows/offers.py): offer what waits in an auto service."""
        ...

    def _moved_on(self) -> None:
        """The conversation changed: the main loop recomputes its timers."""
        ...

    def _care_agent_spoke(self) -> None:
        """An agent message: the care rules' marks (workflows/care.py)."""
        ...

    def _ask_csat(self, handoff: Handoff, return_to_bot: bool) -> bool:
        """The agent finished: ask for CSAT when the service does (workflows/care.py)."""
        ...

    def _check_wrapup(self, handoff: Handoff, request: FinishRequest) -> None:
        """Refuse a finish without the wrap-up code its service requires (workflows/desk.py)."""
        ...

    def _mail_transcript(self, handoff: Handoff) -> None:
        """The agent finished: the transcript e-mail, when due (workflows/transcript_mail.py)."""
        ...

    async def _wrap_up(self, handoff: Handoff, request: FinishRequest) -> dict[str, Any]:
        """Record a finish's wrap-up code and tags; the `finished` event's extra data."""
        ...
