"""The transcript e-mail at the end of human service, mixed into ConversationWorkflow.

When an agent finishes and the service's `care.transcript_email` is on, and the customer has an
address (omni/transcript_mail.py `contact_email`), one activity `mail_transcript` is started in
the background with retries; the run does not end while it is in flight (`_mail_idle`). The
activity reads the transcript from the SQL log (never passed as a payload) and sends once per
conversation. Only services that turn the setting on reach this code, so histories recorded
before it replay unchanged (no patch).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.transcript_mail import MailRequest, TranscriptMailer
    from omni.transcript_mail import contact_email
    from workflows.contracts import Handoff

if TYPE_CHECKING:
    from workflows.core import ConversationCore as _Core
else:
    _Core = object

MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=30,
)
MAIL_TIMEOUT = timedelta(seconds=60)


class TranscriptMail(_Core):
    """Starts the transcript mail at a finish; the workflow waits for it before ending."""

    _mails_in_flight = 0
    _mail_tasks: list[asyncio.Task[None]] | None = None

    def _mail_idle(self) -> bool:
        return self._mails_in_flight == 0

    def _mail_transcript(self, handoff: Handoff) -> None:
        """The agent finished: mail the transcript when the service says so and we can."""
        if not handoff.service.care.transcript_email:
            return
        contact = self._input.contact
        address = contact_email(self.conv.state.variables, contact.extra)
        if address is None:
            return
        request = MailRequest(
            conversation_id=self._input.conversation_id,
            to=address,
            contact_name=contact.name,
            service=handoff.service.service_name,
            bot=self._input.bot,
            last_seq=self.conv.seq,
        )
        self._mails_in_flight += 1
        task = asyncio.create_task(self._send_mail(request))
        self._mail_tasks = [*(self._mail_tasks or []), task]  # keep a reference

    async def _send_mail(self, request: MailRequest) -> None:
        try:
            await workflow.execute_activity_method(
                TranscriptMailer.send_transcript,
                request,
                start_to_close_timeout=MAIL_TIMEOUT,
                retry_policy=MAIL_RETRY,
            )
        except ActivityError as error:
            workflow.logger.warning("transcript e-mail not sent: %s", error.cause or error)
        finally:
            self._mails_in_flight -= 1
