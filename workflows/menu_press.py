"""A press of a WhatsApp or Telegram menu button, read against the menu it belongs to. Pure:
no Temporal in it.

The buttons' ids name their menu (bots/menu_ids.py `button_id`: a hash of its text and
options), and the channel passes that tag in `CustomerMessage.menu`. The option's number is
the answer only while that menu is the question the conversation waits on; a press on an older
menu's button (scrolled up in the chat) must never pick the current menu's option of the same
number, nor answer another question with its label ("Sim" to a different question). It is read
under the workflow's lock, so two quick presses are each read against the menu of their turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.menu_ids import menu_tag, read_button_id
from bots.models import BotFlow, MenuBlock
from workflows.contracts import ConversationState, CustomerMessage, Message

UNTITLED = "[botão de um menu anterior]"
"""The customer's entry for an older menu's press whose label the platform did not send back."""
STALE_NOTICE = "Esse botão é de uma pergunta anterior. Escolha uma opção da pergunta atual:"


@dataclass(frozen=True)
class Press:
    """How a customer message reads: its text, and whether it is a press on an older menu's
    button while the bot waits for an answer: then it answers nothing (the customer is told,
    and the menu asked now, if any, is shown again)."""

    text: str
    stale: bool = False
    ask_again: Message | None = None


def read(message: CustomerMessage, conv: ConversationState, flow: BotFlow) -> Press:
    """`message` read against the menu the conversation waits on. An id the channel did not
    parse (an API process from before tags: the text is the whole id) is parsed here."""
    text, tag = message.text, message.menu
    if tag is None:
        text, tag = read_button_id(text)
    if tag is None:
        return Press(text)
    asked = asked_menu(conv, flow)
    if asked is not None and menu_tag(asked.text, asked.options or []) == tag:
        return Press(text)
    chosen = (message.data or {}).get("chosen")
    label = chosen if isinstance(chosen, str) and chosen.strip() else UNTITLED
    if asked is None and not _bot_waits(conv):  # an agent or the queue has it: the label
        return Press(label)
    return Press(label, stale=True, ask_again=asked)


def asked_menu(conv: ConversationState, flow: BotFlow) -> Message | None:
    """The menu entry whose answer the conversation waits for: the satisfaction survey, or the
    newest menu while the flow stands at a menu block (None: no menu is asked now)."""
    if conv.csat is None and not (
        conv.status == "bot" and isinstance(flow.blocks.get(conv.state.block or ""), MenuBlock)
    ):
        return None
    return next((m for m in reversed(conv.recent) if m.kind == "menu" and m.sender == "bot"), None)


def _bot_waits(conv: ConversationState) -> bool:
    """The bot (not an agent, not the queue) waits for the customer's answer."""
    return conv.status == "bot" and conv.state.started and not conv.state.ended
