"""The transcript e-mailed to the customer at the end of human service (pure: no SMTP, no SQL).

The customer's address is the flow variable `email` (what they typed to the bot, `save_as:
email`), else the contact's data `email` (`contact: {name, email}` of the channel's message);
absent or not an address, no mail. The mail is pt-BR, plain text and HTML, and carries what the
customer saw: agents' notes, supervisors' whispers and notices are never in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from omni.desk import AGENT_ONLY_KINDS

EMAIL_PATTERN = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
MAX_EMAIL_LENGTH = 254
SKIPPED_KINDS = AGENT_ONLY_KINDS | {"delivery_failure"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One transcript entry as the mail needs it."""

    sender: str
    kind: str
    text: str | None
    data: Mapping[str, Any] | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str


def contact_email(variables: Mapping[str, Any], contact: Mapping[str, Any]) -> str | None:
    """The customer's address: the flow variable `email`, else the contact's `email`."""
    for source in (variables, contact):
        value = source.get("email")
        if isinstance(value, str):
            value = value.strip()
            if len(value) <= MAX_EMAIL_LENGTH and EMAIL_PATTERN.match(value):
                return value
    return None


def _who(entry: Entry) -> str | None:
    """Who said it, in the customer's words (None: a notice of the system)."""
    data = entry.data or {}
    match entry.sender:
        case "customer":
            return "Você"
        case "bot":
            return "Assistente virtual"
        case "agent":
            return str(data.get("agent") or "Atendente")
        case "supervisor":
            return supervisor_title(str(data.get("supervisor") or ""))
        case _:
            return None


def supervisor_title(name: str) -> str:
    """ "Supervisor Carla"; the title once when the name is the title or starts with it (the
    admin's default name is "Supervisor": "Supervisor Supervisor" was said), as the screens do
    (api/static/js/atendimento_supervisor.js `supervisorTitle`)."""
    name = name.strip()
    if not name or name.casefold() == "supervisor":
        return "Supervisor"
    return name if _TITLED.match(name) else f"Supervisor {name}"


_TITLED = re.compile(r"supervisora?(\s|$)", re.IGNORECASE)


def compose(entries: Iterable[Entry], *, contact_name: str | None, service: str, bot: str) -> Mail:
    """The mail: a greeting, then each entry the customer saw, with its time (HH:MM)."""
    shown = [e for e in entries if e.kind not in SKIPPED_KINDS and (e.text or "").strip()]
    greeting = f"Olá, {contact_name}!" if contact_name else "Olá!"
    intro = f"Segue a transcrição do seu atendimento em {service}."
    lines, items = [], []
    for entry in shown:
        at = entry.at.strftime("%d/%m/%Y %H:%M")
        who = _who(entry)
        text = entry.text or ""
        if who is None:
            lines.append(f"[{at}] {text}")
            items.append(f"<li><small>{at}</small> <em>{escape(text)}</em></li>")
        else:
            lines.append(f"[{at}] {who}: {text}")
            items.append(
                f"<li><small>{at}</small> <strong>{escape(who)}:</strong> {escape(text)}</li>"
            )
    closing = "Obrigado pelo contato!"
    text_body = "\n".join([greeting, "", intro, "", *lines, "", closing, f"— {bot}", ""])
    html_body = (
        '<!doctype html><html lang="pt-BR"><body>'
        f"<p>{escape(greeting)}</p><p>{escape(intro)}</p>"
        f'<ul style="list-style:none;padding:0">{"".join(items)}</ul>'
        f"<p>{escape(closing)}<br>— {escape(bot)}</p></body></html>"
    )
    return Mail(
        subject=f"Transcrição do seu atendimento — {service}", text=text_body, html=html_body
    )
