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
    """How a button's press reads: its text, and whether it is a press on an older menu's
    button while a menu is asked: then it answers nothing but an escape route (the customer
    is told, and the menu asked now is shown again)."""

    text: str
    ask_again: Message | None = None
    """The menu asked now, when the press was an older menu's (None: read it as `text`)."""

    @property
    def stale(self) -> bool:
        return self.ask_again is not None


def tag_of(message: CustomerMessage, *, on_a_channel: bool) -> tuple[str, str | None]:
    """(the text, the tag of the menu its button belongs to, if a press). On a channel, an id
    the channel did not parse (an API process from before tags passes the whole id as text) is
    parsed here; a web chat's text is never read as an id."""
    if message.menu is not None or not on_a_channel:
        return message.text, message.menu
    return read_button_id(message.text)


def read(message: CustomerMessage, tag: str, conv: ConversationState, flow: BotFlow) -> Press:
    """A press of a button of the menu `tag` (its text: the option's number) read against the
    menu the conversation waits on. With no menu asked (a free-text question, an agent, the
    queue) the press is its label as text, which the question checks as any answer."""
    asked = asked_menu(conv, flow)
    if asked is not None and menu_tag(asked.text, asked.options or []) == tag:
        return Press(message.text)
    chosen = (message.data or {}).get("chosen")
    label = chosen if isinstance(chosen, str) and chosen.strip() else UNTITLED
    return Press(label, ask_again=asked)


def asked_menu(conv: ConversationState, flow: BotFlow) -> Message | None:
    """The menu entry whose answer the conversation waits for: the satisfaction survey, or the
    newest menu while the flow stands at a menu block (None: no menu is asked now)."""
    if conv.csat is None and not (
        conv.status == "bot" and isinstance(flow.blocks.get(conv.state.block or ""), MenuBlock)
    ):
        return None
    return next((m for m in reversed(conv.recent) if m.kind == "menu" and m.sender == "bot"), None)
