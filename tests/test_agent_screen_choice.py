"""Which menu option a waiting customer's bare number chose, as the agent's queue shows it
(api/agent_screen.py `menu_choice`; the whole journey: tests/test_browser_agent_polish.py).

The rule follows the bot's own reading of a menu answer (workflows/interpreter.py): the number
of an option the menu had, as `normalize` reads it ("2." is 2, "02" is no option); a menu
shown again after a wrong answer is the one answered. The number chose in the menu only when
the nearest bot entry before it is that menu: a number that answered a question is not a
choice, even when the same number had chosen in the menu before, or the menu had timed out
and the bot went on to the question; and as the log cannot tell a hand-over's text from a
question, a number repeated after the bot spoke shows as it is (never a wrong option).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.agent_screen import OPTION_NUMBER, menu_choice
from store.conversations import MessageRow
from workflows.interpreter import normalize

AT = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
MENU = ("bot", "menu", "Como posso ajudar?", ["Segunda via", "Falar com um especialista"])


def log(*entries: tuple[str, str, str] | tuple[str, str, str, list[str]]) -> list[MessageRow]:
    """(sender, kind, text[, menu options]) in seq order, as the log holds them."""
    return [
        MessageRow(
            conversation_id="c1",
            seq=seq,
            sender=entry[0],
            kind=entry[1],
            text=entry[2],
            message_id=None,
            data={"options": entry[3]} if len(entry) > 3 else None,
            created_at=AT,
        )
        for seq, entry in enumerate(entries, start=1)
    ]


def said(text: str) -> tuple[str, str, str]:
    return ("customer", "text", text)


HANDED_OVER = [("bot", "text", "Vou te transferir."), ("system", "queued", "Na fila")]
ASKED = ("bot", "text", "Quantos boletos?")


@pytest.mark.parametrize(
    ("preview", "entries", "shown"),
    [
        ("2", [said("oi"), MENU, said("2"), *HANDED_OVER], "Falar com um especialista"),
        ("2.", [said("oi"), MENU, said("2."), *HANDED_OVER], "Falar com um especialista"),
        ("3", [said("oi"), MENU, said("3"), *HANDED_OVER], None),  # no such option
        ("1", [MENU, said("9"), ("bot", "text", "Não entendi."), MENU, said("1")], "Segunda via"),
        ("2", [MENU, said("boleto"), ("bot", "text", "Quantos boletos?"), said("2")], None),
        # the menu's "2" led to a question, which the second "2" answered
        ("2", [MENU, said("2"), ASKED, said("2"), *HANDED_OVER], None),
        # the menu timed out, the bot went on to a question
        ("2", [MENU, ASKED, said("2"), *HANDED_OVER], None),
        ("2", [MENU, said("2"), said("2"), *HANDED_OVER], "Falar com um especialista"),
        ("2", [MENU, said("2"), *HANDED_OVER, said("2")], None),  # can't tell from a question
        ("2", [MENU, said("2"), *HANDED_OVER, said("alô?")], "Falar com um especialista"),
    ],
)
def test_the_queue_shows_the_option_a_number_chose(
    preview: str, entries: list[tuple[str, str, str]], shown: str | None
) -> None:
    assert OPTION_NUMBER.fullmatch(preview)
    assert menu_choice(log(*entries), normalize(preview)) == (True, shown)


def test_a_number_the_menu_does_not_read_as_an_option_is_no_choice() -> None:
    """ "02" is no option for the bot (it asks again): the queue shows the text as it is."""
    assert not OPTION_NUMBER.fullmatch("02")
    assert menu_choice(log(MENU, said("02")), normalize("02")) == (True, None)


def test_a_number_the_log_does_not_hold_yet_is_read_again_later() -> None:
    """The customer's message not in the log yet (it is written behind): not seen, so the
    screen does not remember "no choice" for it."""
    assert menu_choice(log(said("oi"), MENU), "2") == (False, None)
