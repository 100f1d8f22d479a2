"""Continue-as-new, mixed into ConversationWorkflow: a long conversation's next run takes its
state (`ConversationState`, whole, the customer's leave included) and the same input.

A run is due once it handled `max_updates_per_run` customer messages or the server suggests it.
It continues as new only when nothing is in flight (`_idle`: no handler running, no channel
send or mail under way, the log's backstop recorded); until then it keeps living (patch
`continue-when-idle`): the main loop fires its timers (abandonment, max wait, question
timeouts, cards, care, idle end) and honours a leave, and Updates are answered. Webhook events
do not hold it (patch `webhooks-carried`, asked once the due run has events pending): the one
in flight is cancelled at the last moment and the undelivered ones travel into the next run,
each keeping its give-up deadline (workflows/webhook_events.py). Runs that answered the patch
no (recorded before it) wait for their webhooks too, each retried for up to 24 h.

The log's backstop (`_written.closing`, workflows/written_ahead.py) is raised only while the
deliveries are idle, and lowered when one starts again: a written-ahead conversation is not
recorded twice per turn for as long as a delivery is under way. The run continues as new in
the very activation where everything is idle and the pump itself has recorded every entry and
the last status (`_log_idle`), so nothing the workflow recorded is missing from the SQL log.

Runs without the `continue-when-idle` marker (histories recorded before it, and runs that
were already waiting when it was deployed) stop and wait as they did; a customer who leaves
meanwhile is carried (`ConversationState.left`) and the next run ends the conversation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from temporalio import workflow

from workflows import kept_timer, patches
from workflows.kept_timer import KeptTimer

if TYPE_CHECKING:  # the workflow provides the core and the webhook outbox it carries
    from workflows.webhook_events import WebhookEvents as _Core
else:
    _Core = object


class Continuing(_Core):
    """When and how the run continues as new; the workflow provides `ConversationCore`."""

    _messages_this_run: int
    """Customer messages handled by this run (toward `max_updates_per_run`)."""
    _left: bool
    """The customer left (Signal `leave`; carried through continue-as-new)."""
    _when_idle: bool | None
    """Patch `continue-when-idle`, asked when the run first comes due (None: not yet)."""

    def _start_continuing(self) -> None:
        self._messages_this_run = 0
        self._when_idle = None

    def _continue_as_new_due(self) -> bool:
        return (
            self._messages_this_run >= self._input.max_updates_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    def _continuing_wakes(self) -> bool:
        """Whether the main loop has a continue-as-new step to take: raise or lower the
        backstop as the deliveries go idle or busy, or continue. Never true for long: the
        step it wakes for makes it false again (or ends the run)."""
        if not self._continue_as_new_due():
            return False
        if not self._when_idle:  # not asked yet, or the old way (which never waits here)
            return True
        if self._left:  # the main loop honours it first
            return False
        drained = self._deliveries_idle()
        return drained != self._written.closing or (drained and self._log_idle())

    async def _continue_if_due(self, timer: KeptTimer | None) -> None:
        """At the top of the main loop: continue as new when due and idle, or prepare for it."""
        if not self._continue_as_new_due():
            return
        if self._when_idle is None:
            self._when_idle = patches.patched(patches.CONTINUE_WHEN_IDLE)
        if not self._when_idle:  # before the patch: stop serving, wait, continue
            kept_timer.close(timer)
            self._written.closing = True
            await workflow.wait_condition(self._idle)
            self._continue_as_new()
        if self._left:
            return
        self._carry_when_due()  # patch `webhooks-carried`, once webhook events are pending
        drained = self._deliveries_idle()  # carried webhook events aside
        self._written.closing = drained  # the backstop, while nothing else is under way
        if drained and self._log_idle():
            # a task woken meanwhile (a channel pump waiting for the lock this loop held, to
            # add its delivery failure's notice) runs before the run is judged idle for good
            await workflow.wait_condition(lambda: True)
            if self._idle() and not self._left:
                if self._carried:  # the webhook in flight is cancelled: it travels too
                    await self._hold_webhooks()
                    if not self._idle() or self._left or self.conv.state.ended:  # meanwhile
                        self._release_webhooks()
                        return
                kept_timer.close(timer)
                self._continue_as_new()

    def _continue_as_new(self) -> NoReturn:
        """The next run gets this one's input, code version included (docs/architecture.md),
        and the conversation's state."""
        carried = self.conv.model_copy(
            update={"left": self._left, "webhooks": self._webhooks_to_carry()}, deep=True
        )
        workflow.continue_as_new(self._input.model_copy(update={"carried": carried}))
