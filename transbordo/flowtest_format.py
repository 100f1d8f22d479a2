"""Conversation test files (`flows/tests/*.test.yaml`): reading them into steps with line numbers.

A file names its bot and holds a list of tests; each test is a list of steps, one key per step
(`say`, `expect`, `wait`, `agent`, `expect_status`, `expect_variables`, `leave`). Problems are
`FlowIssue`s (file:line:column: message), like a bot file's. The format is documented in
docs/flows.md ("Conversation tests").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bots.errors import FlowError, FlowIssue
from bots.yaml_nodes import Builder, compose, position

STATUSES = ("bot", "waiting", "in_service", "voicemail", "ended")
SENDERS = ("bot", "agent", "system")
AGENT_ACTIONS = ("pickup", "next", "say", "transfer", "finish", "status")
AGENT_STATUSES = ("available", "paused", "offline")
EXPECT_KEYS = ("text", "pattern", "menu", "options", "from", "kind")
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_RECURRING = re.compile(
    r"^(?:(?P<weekday>mon|tue|wed|thu|fri|sat|sun)|(?P<monthday>\d\d-\d\d))\s+"
    r"(?P<time>\d\d:\d\d)$"
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Expectation:
    """What the next message must be: exact text, a pattern, a menu, a sender, a kind."""

    text: str | None = None
    pattern: re.Pattern[str] | None = None
    menu: str | None = None
    options: list[str] | None = None
    sender: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class At:
    """The clock at the start of a test: an instant, or the next `mon 10:00` / `12-25 10:00`."""

    instant: datetime | None = None
    weekday: int | None = None
    month_day: tuple[int, int] | None = None
    hour: int = 0
    minute: int = 0
    text: str = ""


@dataclass(frozen=True)
class Step:
    """One step; `line` is where it is written in the test file."""

    line: int
    action: str
    value: Any = None
    agent: str | None = None


@dataclass
class ConversationTest:
    name: str
    line: int
    steps: list[Step]
    at: At | None = None
    contact: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestFile:
    path: Path
    bot: str
    flow: Path
    tests: list[ConversationTest]
    services: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)

    __test__ = False  # not a pytest class


def find_test_files(paths: list[Path]) -> list[Path]:
    """The `*.test.yaml` / `*.test.yml` files given, or found under the folders given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted([*path.rglob("*.test.yaml"), *path.rglob("*.test.yml")])
        else:
            found.append(path)
    return found


def read_test_file(path: Path) -> TestFile:
    """Parse a test file; raises FlowError with every problem found (file:line:column)."""
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([FlowIssue(file=name, line=1, column=1, message=str(exc))]) from exc
    return parse_test_source(source, path)


def parse_test_source(source: str, path: Path) -> TestFile:
    reader = _Reader(str(path))
    try:
        root = compose(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise FlowError(
            [FlowIssue(file=str(path), line=line, column=column, message=f"YAML: {exc.problem}")]
        ) from exc
    parsed = reader.file(root, path)
    if reader.issues or parsed is None:
        raise FlowError(sorted(reader.issues, key=lambda i: (i.line, i.column)))
    return parsed


def parse_duration(value: Any) -> timedelta:
    """`90` (seconds), `"30s"`, `"10m"`, `"1h30m"`, `"2d"` → a timedelta; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h30m or 2d")
    if isinstance(value, int | float) and value >= 0:
        return timedelta(seconds=value)
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration (use 30s, 10m, 1h30m or 2d)")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_at(value: Any) -> At:
    """An ISO 8601 instant, or a recurring moment: `mon 10:00`, `12-25 10:00`."""
    if not isinstance(value, str):
        raise ValueError("expected a date and time such as 2026-12-01T10:00-03:00 or mon 10:00")
    text = value.strip()
    match = _RECURRING.match(text)
    if match:
        hour, minute = (int(p) for p in match["time"].split(":"))
        if hour > 23 or minute > 59:
            raise ValueError(f"{match['time']!r} is not a time of day")
        if match["weekday"]:
            return At(weekday=WEEKDAYS.index(match["weekday"]), hour=hour, minute=minute, text=text)
        month, day = (int(p) for p in match["monthday"].split("-"))
        try:
            datetime(2000, month, day)  # a leap year: 02-29 is a date
        except ValueError:
            raise ValueError(f"{match['monthday']!r} is not a month and day (MM-DD)") from None
        return At(month_day=(month, day), hour=hour, minute=minute, text=text)
    try:
        return At(instant=datetime.fromisoformat(text), text=text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date and time (2026-12-01T10:00-03:00, mon 10:00 or 12-25 10:00)"
        ) from None


class _Reader:
    """Walks the node tree, keeping every problem with its position."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.issues: list[FlowIssue] = []

    def issue(self, node: Node, message: str) -> None:
        line, column = position(node)
        self.issues.append(FlowIssue(file=self.filename, line=line, column=column, message=message))

    def data(self, node: Node) -> Any:
        builder = Builder(self.filename)
        value = builder.build(node)
        self.issues += builder.issues
        return value

    def mapping(self, node: Node, where: str, allowed: tuple[str, ...]) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.issue(node, f"{where}: expected a mapping")
            return None
        items: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key not in allowed:
                self.issue(
                    key_node, f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})"
                )
            elif key in items:
                self.issue(key_node, f"{where}: duplicate key {key!r}")
            else:
                items[key] = value_node
        return items

    def text(self, node: Node, where: str) -> str | None:
        value = self.data(node)
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            self.issue(node, f"{where}: expected text")
            return None
        return str(value)

    def file(self, root: Node | None, path: Path) -> TestFile | None:
        if root is None:
            self.issues.append(FlowIssue(file=self.filename, line=1, column=1, message="empty"))
            return None
        keys = ("bot", "flow", "services", "agents", "tests")
        top = self.mapping(root, "test file", keys)
        if top is None:
            return None
        for required in ("bot", "tests"):
            if required not in top:
                self.issue(root, f"test file: {required!r} is required")
        bot = self.text(top["bot"], "bot") if "bot" in top else None
        flow_name = self.text(top["flow"], "flow") if "flow" in top else None
        services = self.objects(top.get("services"), "services")
        agents = self.objects(top.get("agents"), "agents")
        tests: list[ConversationTest] = []
        tests_node = top.get("tests")
        if tests_node is not None:
            if isinstance(tests_node, SequenceNode) and tests_node.value:
                tests = [t for n in tests_node.value if (t := self.test(n)) is not None]
            else:
                self.issue(tests_node, "tests: expected a list of tests")
        if bot is None:
            return None
        flow = (path.parent / flow_name) if flow_name else _flow_for(path, bot)
        return TestFile(path, bot, flow, tests, services, agents)

    def objects(self, node: Node | None, where: str) -> list[dict[str, Any]]:
        if node is None:
            return []
        value = self.data(node)
        if not isinstance(value, list) or not all(
            isinstance(v, dict) and isinstance(v.get("name"), str) for v in value
        ):
            self.issue(node, f"{where}: expected a list of mappings, each with a name")
            return []
        return value

    def test(self, node: Node) -> ConversationTest | None:
        items = self.mapping(node, "test", ("name", "at", "contact", "steps"))
        if items is None:
            return None
        name = self.text(items["name"], "name") if "name" in items else None
        if "name" not in items:
            self.issue(node, "test: 'name' is required")
        where = f"test {name!r}" if name else "test"
        at = None
        if "at" in items:
            try:
                at = parse_at(self.data(items["at"]))
            except ValueError as exc:
                self.issue(items["at"], f"{where}, at: {exc}")
        contact: dict[str, Any] = {}
        if "contact" in items:
            value = self.data(items["contact"])
            if isinstance(value, dict):
                contact = value
            else:
                self.issue(items["contact"], f"{where}, contact: expected a mapping")
        steps_node = items.get("steps")
        steps: list[Step] = []
        if not isinstance(steps_node, SequenceNode) or not steps_node.value:
            self.issue(steps_node or node, f"{where}: 'steps' must be a list of steps")
        else:
            steps = [s for n in steps_node.value if (s := self.step(n, where)) is not None]
        return ConversationTest(name or "?", position(node)[0], steps, at, contact)

    def step(self, node: Node, where: str) -> Step | None:
        line = position(node)[0]
        if isinstance(node, ScalarNode) and node.value == "leave":
            return Step(line, "leave")
        actions = ("say", "expect", "wait", "agent", "expect_status", "expect_variables", "leave")
        items = self.mapping(node, f"{where}, step", actions)
        if not items:
            if isinstance(node, MappingNode) and not node.value:
                self.issue(node, f"{where}: an empty step")
            return None
        if len(items) > 1:
            self.issue(node, f"{where}: one action per step (found {', '.join(items)})")
            return None
        action, value_node = next(iter(items.items()))
        where = f"{where}, {action}"
        value = self.data(value_node)
        if action in ("say", "expect") and isinstance(value_node, ScalarNode) and value is not None:
            value = value_node.value  # as written: `say: 0123` sends "0123", not 123
        try:
            return _STEP_READERS[action](line, value)
        except ValueError as exc:
            self.issue(value_node, f"{where}: {exc}")
            return None


def _flow_for(test_path: Path, bot: str) -> Path:
    """`bot.yaml` next to the test file or in the folder above it (flows/tests/ → flows/)."""
    for folder in (test_path.parent, test_path.parent.parent):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{bot}{suffix}"
            if candidate.is_file():
                return candidate
    return test_path.parent.parent / f"{bot}.yaml"


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
    if value in ("pickup", "next", "finish"):
        value = {value: None}
    if not isinstance(value, dict):
        raise ValueError(f"expected one of {', '.join(AGENT_ACTIONS)} (e.g. `agent: pickup`)")
    actor = value.get("as")
    actions = [k for k in value if k != "as"]
    if len(actions) != 1 or actions[0] not in AGENT_ACTIONS:
        raise ValueError(f"expected one action of {', '.join(AGENT_ACTIONS)} (and optionally `as`)")
    action, argument = actions[0], value[actions[0]]
    match action:
        case "say":
            if argument is None or isinstance(argument, bool | list | dict):
                raise ValueError("say: expected the agent's text")
            argument = str(argument)
        case "transfer":
            if (
                not isinstance(argument, dict)
                or len(argument) != 1
                or not ({"service", "extension"} & set(argument))
            ):
                raise ValueError('transfer: expected {service: NAME} or {extension: "200"}')
            argument = {k: str(v) for k, v in argument.items()}
        case "finish":
            argument = argument or {}
            if not isinstance(argument, dict) or set(argument) - {"return_to_bot"}:
                raise ValueError("finish: expected {return_to_bot: true|false}")
            if not isinstance(argument.get("return_to_bot", True), bool):
                raise ValueError("finish: return_to_bot must be true or false")
        case "status":
            if argument not in AGENT_STATUSES:
                raise ValueError(f"status: expected one of {', '.join(AGENT_STATUSES)}")
    return Step(line, "agent", (action, argument), agent=None if actor is None else str(actor))


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


_STEP_READERS = {
    "say": _say,
    "expect": _expect,
    "wait": _wait,
    "agent": _agent,
    "expect_status": _expect_status,
    "expect_variables": _expect_variables,
    "leave": _leave,
}
