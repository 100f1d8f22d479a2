"""A menu button's press read against the menu the conversation asks now (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from bots.loader import load_flow
from channels.model import button_id, menu_tag
from tests.test_channel_stale_input import FLOW
from workflows import interpreter
from workflows.contracts import Contact, ConversationState, CustomerMessage, Message
from workflows.menu_press import read, tag_of

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOLETO = "Qual boleto?\n1. Do mês\n2. Atrasado\n3. Sair"
OPTIONS = ["Do mês", "Atrasado", "Sair"]


def asking(block: str | None = "boletos", status: str = "bot") -> ConversationState:
    """A conversation whose flow stands at `block`, the boletos menu its newest menu entry."""
    conv = ConversationState.fresh(Contact(id="5511"))
    conv.state = interpreter.FlowState(block=block, started=True)
    conv.status = status  # type: ignore[assignment]
    conv.recent = [
        Message(seq=1, sender="bot", kind="menu", text="Como?", options=["Boleto", "Sair"], at=AT),
        Message(seq=2, sender="bot", kind="menu", text=BOLETO, options=OPTIONS, at=AT),
    ]
    return conv


def press(text: str, menu: str | None, chosen: str | None = None) -> CustomerMessage:
    data = {"chosen": chosen} if chosen else None
    return CustomerMessage(message_id="m", text=text, menu=menu, data=data)


HOME = menu_tag("Como?", ["Boleto", "Sair"])


def test_a_press_on_the_menu_asked_now_is_its_number() -> None:
    flow, tag = load_flow(FLOW), menu_tag(BOLETO, OPTIONS)
    read_as = read(press("2", tag, "Atrasado"), tag, asking(), flow)
    assert (read_as.text, read_as.stale) == ("2", False)


def test_a_press_on_an_older_menu_answers_nothing_and_asks_again() -> None:
    flow = load_flow(FLOW)
    read_as = read(press("2", HOME, "Sair"), HOME, asking(), flow)
    assert (read_as.text, read_as.stale) == ("Sair", True)
    assert read_as.ask_again is not None and read_as.ask_again.text == BOLETO
    untitled = read(press("2", HOME), HOME, asking(), flow)
    assert untitled.text == "[botão de um menu anterior]" and untitled.stale


def test_with_no_menu_asked_a_press_is_its_label() -> None:
    """An agent or the queue has the chat, or the bot asks a free-text question: the label,
    which the agent reads or the question checks as any answer."""
    flow, tag = load_flow(FLOW), menu_tag(BOLETO, OPTIONS)
    for conv in (asking("atendimento", "agent"), asking("mes")):
        read_as = read(press("1", tag, "Do mês"), tag, conv, flow)
        assert (read_as.text, read_as.stale, read_as.ask_again) == ("Do mês", False, None)


def test_a_tagged_id_passed_on_as_text_is_a_press_on_a_channel_only() -> None:
    """An API process from before the tags passes a channel's id on as text during a rolling
    upgrade; a web chat's text is never read as one."""
    tagged = button_id(BOLETO, OPTIONS, 3)
    assert tag_of(press(tagged, None), on_a_channel=True) == ("3", menu_tag(BOLETO, OPTIONS))
    assert tag_of(press(tagged, None), on_a_channel=False) == (tagged, None)
    assert tag_of(press("2", None), on_a_channel=True) == ("2", None)
    assert tag_of(press("m.zzzzzzzz.1", None), on_a_channel=True) == ("m.zzzzzzzz.1", None)
