"""The transcript e-mail to the customer at the end of human service, over SMTP (retried by
Temporal; once per conversation: `store/transcript_mails.py`)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from omni.transcript_mail import Entry, compose
from store import conversations as conversation_log
from store import transcript_mails

MAX_ENTRIES = 2000
SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where the mail goes out (transbordo/settings.py `smtp_*`)."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    sender: str = "Transbordo <nao-responda@localhost>"
    starttls: bool = True


class MailRequest(BaseModel):
    conversation_id: str
    to: str
    contact_name: str | None = None
    service: str
    bot: str
    last_seq: int
    """The transcript up to this entry (the log may trail the workflow: then the activity
    retries until it has caught up)."""


class TranscriptMailer:
    """Holds the DB engine and the SMTP settings (None: mails are not configured)."""

    def __init__(self, engine: Engine, smtp: SmtpConfig | None) -> None:
        self._engine = engine
        self._smtp = smtp

    @activity.defn(name="mail_transcript")
    def send_transcript(self, request: MailRequest) -> str:
        """Send the mail: `sent`, `already_sent`, or `not_configured`."""
        if self._smtp is None:
            activity.logger.warning("transcript e-mail asked for, but no SMTP host is set")
            return "not_configured"
        if transcript_mails.was_sent(self._engine, request.conversation_id):
            return "already_sent"
        rows = conversation_log.messages_after(
            self._engine, request.conversation_id, 0, MAX_ENTRIES
        )
        if not rows or rows[-1].seq < min(request.last_seq, MAX_ENTRIES):
            raise ApplicationError("the conversation's log has not caught up yet")
        entries = [
            Entry(sender=r.sender, kind=r.kind, text=r.text, data=r.data, at=r.created_at)
            for r in conversation_log.customer_facing(rows)
            if r.seq <= request.last_seq
        ]
        mail = compose(
            entries, contact_name=request.contact_name, service=request.service, bot=request.bot
        )
        message = EmailMessage()
        message["Subject"] = mail.subject
        message["From"] = self._smtp.sender
        message["To"] = request.to
        message["Message-ID"] = make_msgid(idstring=request.conversation_id[:32])
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        self._deliver(message)
        transcript_mails.mark_sent(self._engine, request.conversation_id)
        return "sent"

    def _deliver(self, message: EmailMessage) -> None:
        """Send `message`. A refusal is told by its SMTP code alone: smtplib's errors quote
        the customer's address (and the server's words about it), and activity failures are
        logged by the worker in clear."""
        smtp = self._smtp
        assert smtp is not None
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS) as server:
                if smtp.starttls:
                    server.starttls()
                if smtp.user:
                    server.login(smtp.user, smtp.password or "")
                server.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = sorted({code for code, _ in refused.recipients.values()})
            raise ApplicationError(
                f"the mail server refused the customer's address (SMTP {codes})",
                type="RecipientRefused",
                non_retryable=all(code >= 500 for code in codes),  # 4xx: try again later
            ) from None
        except smtplib.SMTPResponseException as failed:
            raise ApplicationError(
                f"the mail server answered SMTP {failed.smtp_code}", type=type(failed).__name__
            ) from None
