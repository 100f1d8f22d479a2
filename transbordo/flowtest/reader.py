"""Reading a conversation test file into tests and steps, every problem with file:line:column.

Problems are `FlowIssue`s (file:line:column: message), like a bot file's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bots.errors import FlowError, FlowIssue
from bots.yaml_nodes import Builder, compose, position
from transbordo.flowtest.format import ConversationTest, Step, TestFile, parse_at
from transbordo.flowtest.steps import STEP_READERS


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
        actions = tuple(STEP_READERS)
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
            return STEP_READERS[action](line, value)
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
