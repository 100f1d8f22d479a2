"""The transcript e-mailed to the customer at the end of human service (issue 14 item 8): the
rules (pure), then the whole path through the HTTP API to a real SMTP server on loopback
(aiosmtpd) that keeps what arrived."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message as MailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio.exceptions import ApplicationError

from activities.transcript_mail import MailRequest, SmtpConfig, TranscriptMailer
from omni.transcript_mail import Entry, compose, contact_email
from store.conversations import record_turn
from store.new_conversations import NewConversation
from tests.conftest import admin_headers, conversation_handle, conversation_wid, running_stack
from tests.ports import free_ports
from tests.test_desk import flow
from tests.test_handoff import publish, setup_omni
from workflows.contracts import Message

AT = datetime(2026, 11, 29, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("variables", "contact", "expected"),
    [
        ({"email": "a@b.com"}, {"email": "c@d.com"}, "a@b.com"),
        ({}, {"email": " c@d.com "}, "c@d.com"),
        ({"email": "não sei"}, {"email": "c@d.com"}, "c@d.com"),
        ({"email": "x@y"}, {}, None),
        ({}, {"email": "a@b.com\r\nBcc: z@z.com"}, None),
        ({"email": 42}, {}, None),
        ({}, {}, None),
    ],
)
def test_contact_email(variables: dict, contact: dict, expected: str | None) -> None:
    assert contact_email(variables, contact) == expected


def test_compose_leaves_out_notes_and_whispers_and_escapes_html() -> None:
    entries = [
        Entry("customer", "text", "oi <b>", None, AT),
        Entry("agent", "note", "cliente VIP", {"agent": "Ana"}, AT),
        Entry("system", "whisper", "ofereça", {"supervisor": "Carla"}, AT),
        Entry("system", "notice", "Você está sendo atendido por Ana.", None, AT),
        Entry("agent", "text", "Olá!", {"agent": "Ana"}, AT),
        Entry("supervisor", "text", "Sou a supervisora.", {"supervisor": "Carla"}, AT),
    ]
    mail = compose(entries, contact_name="Maria", service="Suporte", bot="loja")
    assert mail.subject == "Transcrição do seu atendimento — Suporte"
    assert mail.text.splitlines()[:4] == [
        "Olá, Maria!",
        "",
        "Segue a transcrição do seu atendimento em Suporte.",
        "",
    ]
    assert "[29/11/2026 14:05] Você: oi <b>" in mail.text
    assert "Ana: Olá!" in mail.text and "Supervisor Carla: Sou a supervisora." in mail.text
    assert "cliente VIP" not in mail.text and "ofereça" not in mail.text
    assert "oi &lt;b&gt;" in mail.html and "cliente VIP" not in mail.html


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("Carla", "Supervisor Carla"),
        ("Supervisor", "Supervisor"),  # the admin's default name: the title once
        ("supervisor", "Supervisor"),
        ("Supervisora Carla", "Supervisora Carla"),
        ("Supervisores", "Supervisor Supervisores"),
        ("", "Supervisor"),
    ],
)
def test_a_barge_in_names_the_supervisor_with_the_title_once(name: str, said: str) -> None:
    entry = Entry("supervisor", "text", "Posso ajudar?", {"supervisor": name}, AT)
    mail = compose([entry], contact_name=None, service="Suporte", bot="loja")
    assert f"] {said}: Posso ajudar?" in mail.text


class Inbox:
    """What the SMTP server on loopback received."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], MailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


def free_port() -> int:
    """A port free now, outside the ephemeral range (tests/ports.py)."""
    return free_ports(1)[0]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def parts(message: MailMessage) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


@pytest.mark.asyncio
async def test_the_transcript_reaches_the_customer_once(time_env, settings, engine, smtp_server):
    inbox, port = smtp_server
    settings = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "smtp_from": "Loja <atendimento@loja.test>",
        }
    )
    admin = admin_headers()
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, care={"transcript_email": True})
        ana = omni.agent("Ana")
        await publish(http, flow(omni.key))
        contact = {"name": "Maria", "email": "maria@example.com"}
        for i, text in enumerate(["oi", "123"]):
            body = {"contact_id": "5577", "message_id": f"m{i}", "text": text, "contact": contact}
            turn = await http.post("/api/bots/loja/messages", json=body)
            assert turn.status_code == 200, turn.text
        conversation = turn.json()["conversation_id"]
        base = f"/api/agent/conversations/{conversation}"
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200
        await http.post(f"{base}/notes", json={"text": "cliente VIP"}, headers=ana)
        sup = f"/api/supervisor/conversations/{conversation}"
        whispered = await http.post(f"{sup}/whisper", json={"text": "parcele"}, headers=admin)
        assert whispered.status_code == 200, whispered.text
        said = await http.post(
            f"{base}/messages", json={"text": "Seu boleto vai por e-mail."}, headers=ana
        )
        assert said.status_code == 200, said.text
        done = await http.post(f"{base}/finish", json={"return_to_bot": False}, headers=ana)
        assert done.status_code == 200, done.text
        handle = conversation_handle(time_env, conversation_wid("loja", "5577"))
        async with time_env.time_skipping_unlocked():
            await handle.result()  # the run ends only after the mail activity

    assert len(inbox.mails) == 1
    to, message = inbox.mails[0]
    assert to == ["maria@example.com"]
    assert message["Subject"] == "Transcrição do seu atendimento — Suporte"
    assert message["From"] == "Loja <atendimento@loja.test>"
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    for body in bodies.values():
        assert "Seu boleto vai por e-mail." in body and "Olá, Maria!" in body
        assert "cliente VIP" not in body and "parcele" not in body

    # once per conversation: a retry (or a second finish) sends nothing more
    mailer = TranscriptMailer(engine, SmtpConfig(host="127.0.0.1", port=port, starttls=False))
    again = MailRequest(
        conversation_id=conversation,
        to="maria@example.com",
        service="Suporte",
        bot="loja",
        last_seq=1,
    )
    assert mailer.send_transcript(again) == "already_sent"
    assert len(inbox.mails) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("mail_on", "contact"),
    [
        (False, {"name": "Com", "email": "c@example.com"}),  # an address, the setting off
        (True, {"name": "Sem"}),  # the setting on, no address
    ],
)
async def test_no_address_or_setting_off_no_mail(  # type: ignore[no-untyped-def]
    time_env, settings, engine, smtp_server, mail_on, contact
):
    inbox, port = smtp_server
    settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, care={"transcript_email": mail_on})
        ana = omni.agent("Ana")
        await publish(http, flow(omni.key))
        contact_id = "6001"
        for i, text in enumerate(["oi", "123"]):
            body = {
                "contact_id": contact_id,
                "message_id": f"{contact_id}-{i}",
                "text": text,
                "contact": contact,
            }
            turn = await http.post("/api/bots/loja/messages", json=body)
        conversation = turn.json()["conversation_id"]
        base = f"/api/agent/conversations/{conversation}"
        assert (await http.post(f"{base}/pickup", headers=ana)).status_code == 200
        done = await http.post(f"{base}/finish", json={"return_to_bot": False}, headers=ana)
        assert done.status_code == 200, done.text
        handle = conversation_handle(time_env, conversation_wid("loja", contact_id))
        async with time_env.time_skipping_unlocked():
            await handle.result()
    assert inbox.mails == []


class RefusingInbox(Inbox):
    """A mail server that knows no such mailbox, and says whose in its answer."""

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: no such mailbox"


def test_a_refused_address_fails_without_naming_the_customer(engine) -> None:  # type: ignore[no-untyped-def]
    """smtplib's refusal quotes the address; the activity's failure (logged by the worker in
    clear, and by the workflow) says only the SMTP code, and is not retried for a 5xx."""
    new = NewConversation(
        conversation_id="c-refused",
        workflow_id="w-refused",
        bot="loja",
        bot_version=1,
        contact_id="7001",
        status="ended",
    )
    said = Message(seq=1, sender="agent", text="Até logo!", at=AT)
    record_turn(engine, "c-refused", [said], new=new)
    inbox, port = RefusingInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = TranscriptMailer(engine, SmtpConfig(host="127.0.0.1", port=port, starttls=False))
        request = MailRequest(
            conversation_id="c-refused", to="maria@example.com", service="Suporte", bot="loja",
            last_seq=1,
        )  # fmt: skip
        with pytest.raises(ApplicationError) as refused:
            mailer.send_transcript(request)
    finally:
        controller.stop()
    assert "maria" not in str(refused.value) and refused.value.__cause__ is None
    assert "550" in str(refused.value) and refused.value.non_retryable
    assert inbox.mails == []
