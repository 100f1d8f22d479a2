"""One step of a conversation test: its value checked and turned into a `Step`.

Each reader takes the step's line and its YAML value and returns the Step, or raises ValueError
with what to write instead (the reader adds the file, line and column).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from transbordo.flowtest.format import (
    AGENT_ACTIONS,
    AGENT_STATUSES,
    EXPECT_KEYS,
    SENDERS,
    STATUSES,
    Expectation,
    Step,
    parse_duration,
)
from transbordo.flowtest.offers import read_expect_offer


def _say(line: int, value: Any) -> Step:
    if value is None or isinstance(value, bool | list | dict) or not str(value).strip():
        raise ValueError("expected the customer's text")
    return Step(line, "say", str(value))


def _expect(line: int, value: Any) -> Step:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return Step(line, "expect", Expectation(text=str(value)))
    if not isinstance(value, dict) or not value:
        raise ValueError(f"expected a text or a mapping with {', '.join(EXPECT_KEYS)}")
    unknown = [k for k in value if k not in EXPECT_KEYS]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (allowed: {', '.join(EXPECT_KEYS)})")
    if sum(k in value for k in ("text", "pattern", "menu")) > 1:
        raise ValueError("give one of text, pattern, menu")
    pattern = None
    if "pattern" in value:
        try:
            pattern = re.compile(str(value["pattern"]))
        except re.error as exc:
            raise ValueError(f"pattern: {exc}") from None
    options = value.get("options")
    if options is not None and (
        not isinstance(options, list) or not all(isinstance(o, str | int) for o in options)
    ):
        raise ValueError("options: expected a list of texts")
    sender = value.get("from")
    if sender is not None and sender not in SENDERS:
        raise ValueError(f"from: expected one of {', '.join(SENDERS)}")
    return Step(
        line,
        "expect",
        Expectation(
            text=None if value.get("text") is None else str(value["text"]),
            pattern=pattern,
            menu=None if value.get("menu") is None else str(value["menu"]),
            options=None if options is None else [str(o) for o in options],
            sender=sender,
            kind=None if value.get("kind") is None else str(value["kind"]),
        ),
    )


def _wait(line: int, value: Any) -> Step:
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("a wait must be longer than zero")
    return Step(line, "wait", duration)


def _agent(line: int, value: Any) -> Step:
    if value in ("pickup", "next", "finish", "accept", "decline"):
        value = {value: None}
    if not isinstance(value, dict):
        raise ValueError(f"expected one of {', '.join(AGENT_ACTIONS)} (e.g. `agent: pickup`)")
    actor = value.get("as")
    actions = [k for k in value if k != "as"]
    if len(actions) != 1 or actions[0] not in AGENT_ACTIONS:
        raise ValueError(f"expected one action of {', '.join(AGENT_ACTIONS)} (and optionally `as`)")
    action = actions[0]
    check = _AGENT_ARGUMENTS.get(action)
    argument = value[action] if check is None else check(value[action])
    return Step(line, "agent", (action, argument), agent=None if actor is None else str(actor))


def _agent_text(argument: Any) -> str:
    if argument is None or isinstance(argument, bool | list | dict):
        raise ValueError("say: expected the agent's text")
    return str(argument)


def _transfer_target(argument: Any) -> dict[str, str]:
    if (
        not isinstance(argument, dict)
        or len(argument) != 1
        or not ({"service", "extension"} & set(argument))
    ):
        raise ValueError('transfer: expected {service: NAME} or {extension: "200"}')
    return {k: str(v) for k, v in argument.items()}


def _finish_options(argument: Any) -> Any:
    argument = argument or {}
    if not isinstance(argument, dict) or set(argument) - {"return_to_bot"}:
        raise ValueError("finish: expected {return_to_bot: true|false}")
    if not isinstance(argument.get("return_to_bot", True), bool):
        raise ValueError("finish: return_to_bot must be true or false")
    return argument


def _agent_status(argument: Any) -> Any:
    if argument not in AGENT_STATUSES:
        raise ValueError(f"status: expected one of {', '.join(AGENT_STATUSES)}")
    return argument


_AGENT_ARGUMENTS: dict[str, Callable[[Any], Any]] = {
    "say": _agent_text,
    "transfer": _transfer_target,
    "finish": _finish_options,
    "status": _agent_status,
}
"""The agent actions whose argument is checked (and normalised); the others take it as written."""


def _expect_status(line: int, value: Any) -> Step:
    if value not in STATUSES:
        raise ValueError(f"expected one of {', '.join(STATUSES)}")
    return Step(line, "expect_status", value)


def _expect_variables(line: int, value: Any) -> Step:
    if not isinstance(value, dict) or not value:
        raise ValueError("expected a mapping of variable names to values")
    return Step(line, "expect_variables", value)


def _leave(line: int, value: Any) -> Step:
    if value not in (None, True):
        raise ValueError("write `- leave`")
    return Step(line, "leave")


STEP_READERS = {
    "say": _say,
    "expect": _expect,
    "wait": _wait,
    "agent": _agent,
    "expect_status": _expect_status,
    "expect_variables": _expect_variables,
    "leave": _leave,
    "expect_offer": read_expect_offer,
}
