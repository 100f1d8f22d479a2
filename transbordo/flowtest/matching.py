"""Matching a conversation's messages and state against what a test expects, and saying why not."""

from __future__ import annotations

import difflib
import json
from typing import Any

from transbordo.flowtest.format import Expectation, Step


def mismatch(expected: Expectation, message: dict[str, Any]) -> str | None:
    """Why `message` is not what `expected` describes (None when it is)."""
    text = message.get("text") or ""
    sender, kind = message.get("from"), message.get("kind")
    got = f"{sender} message {quote(text)}" if sender != "bot" else quote(text)
    if expected.sender and sender != expected.sender:
        return f"expected a message from {expected.sender}, got {got}"
    if expected.kind and kind != expected.kind:
        return f"expected a {expected.kind} message, got a {kind} message {quote(text)}"
    if expected.text is not None and text != expected.text and _prompt(message) != expected.text:
        return f"expected {quote(expected.text)}, got {got}" + _diff(expected.text, text)
    if expected.pattern is not None and not expected.pattern.search(text):
        return f"expected a match of /{expected.pattern.pattern}/, got {got}"
    if expected.menu is not None:
        if kind != "menu":
            return f"expected the menu {quote(expected.menu)}, got {got}"
        if _prompt(message) != expected.menu:
            return f"expected the menu {quote(expected.menu)}, got {quote(_prompt(message))}"
    if expected.options is not None and (message.get("options") or []) != expected.options:
        return (
            f"expected options {quote(expected.options)}, got {quote(message.get('options') or [])}"
        )
    return None


def state_problem(step: Step, snapshot: Any) -> str | None:
    if step.action == "expect_status":
        if snapshot.status != step.value:
            return f"expected status {step.value}, got {snapshot.status}"
        return None
    for name, wanted in step.value.items():
        got = snapshot.variables.get(name)
        if got != wanted and str(got) != str(wanted):
            return f"expected {name} = {quote(wanted)}, got {quote(got)}"
    return None


def _prompt(message: dict[str, Any]) -> str | None:
    """A menu's text without its numbered options (what the flow's `text` says)."""
    options = message.get("options")
    text = message.get("text") or ""
    if message.get("kind") != "menu" or not options:
        return None
    return "\n".join(text.split("\n")[: -len(options)])


def describe(expected: Expectation) -> str:
    if expected.text is not None:
        return quote(expected.text)
    if expected.pattern is not None:
        return f"a match of /{expected.pattern.pattern}/"
    if expected.menu is not None:
        return f"the menu {quote(expected.menu)}"
    return "a message"


def _diff(expected: str, got: str) -> str:
    if "\n" not in expected and "\n" not in got:
        return ""
    lines = difflib.unified_diff(
        expected.splitlines(), got.splitlines(), "expected", "got", lineterm="", n=1
    )
    return "".join(f"\n      {line}" for line in list(lines)[2:])


def quote(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def one_line(text: str | None) -> str:
    return (text or "").replace("\n", " / ")
