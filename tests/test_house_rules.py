"""House rules: small modules, and imports that go one way between the rooms.

The table in docs/architecture.md ("The rooms") is this file's rule set in words. Imports are read
with `ast` (top-level and inside functions alike), so a lazy import counts as much as any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
"""A module above this does more than one job: split it along its seam."""
SKIPPED = ("tests", ".venv", "store/migrations/versions")
"""Tests may be long (a table of cases); migrations are history, never edited."""

ROOMS = (
    "encryption", "bots", "omni", "channels", "store", "workflows", "activities", "api",
    "transbordo", "worker",
)  # fmt: skip

MAY_NOT_IMPORT: dict[str, tuple[str, ...]] = {
    # Cryptography of what leaves our SQL: the ring is passed in, nothing of ours is known.
    "encryption": ("bots", "omni", "store", "workflows", "activities", "api", "transbordo")
    + ("worker",),
    # The flow language and the Omni domain: pure, below everything else.
    "bots": ("omni", "store", "workflows", "activities", "api", "transbordo", "worker"),
    "omni": ("bots", "store", "workflows", "activities", "api", "transbordo", "worker"),
    # The channels' payloads and rendering (WhatsApp, Telegram): pure, knows nothing of ours
    # but how the flow's menus name their buttons (bots/menu_ids.py, `EXCEPTIONS`).
    "channels": ("encryption", "bots", "omni", "store", "workflows", "activities", "api")
    + ("transbordo", "worker"),
    # SQL for both domains; knows nothing of who calls it.
    "store": ("channels", "workflows", "activities", "api", "transbordo", "worker"),
    # Deterministic code: no SQL, no HTTP, no settings (activities: see below).
    "workflows": ("channels", "store", "api", "transbordo", "worker"),
    # The workflows' I/O: their contracts and the store, never the API or the CLI.
    "activities": ("api", "transbordo", "worker"),
    # The HTTP face: starts and talks to workflows, never runs their code's I/O itself.
    "api": ("activities", "worker"),
    # transbordo/ (CLI, in-process stack, flow tests) and worker.py compose everything.
}
"""Room → rooms it must not import (a room is a top-level package, or worker.py)."""

API_LAYERS: dict[str, tuple[str, ...]] = {
    "api.usecases": ("api.routes", "api.app", "api.deps"),
    "api.models": ("api.routes", "api.usecases", "api.app", "api.deps"),
}
"""Inside api/: routers use the use cases and models, never the other way round."""

EXCEPTIONS: dict[tuple[str, str], str] = {
    ("channels/model.py", "bots.menu_ids"): "a menu's buttons' ids, which the workflow reads back",
}
"""(module, imported module) → why this one import may cross a rule. Keep it short."""

WORKFLOW_PASS_THROUGH = "activities"
"""workflows/ may import activities/ (their names and contract types, for
`execute_activity_method`) only inside `with workflow.unsafe.imports_passed_through():`, so the
sandbox does not re-import their I/O libraries."""


def _modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith(SKIPPED):
            yield path


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module
            yield from ((node, f"{node.module}.{alias.name}") for alias in node.names)


def _passed_through(tree: ast.AST) -> set[int]:
    """Ids of the import statements inside `workflow.unsafe.imports_passed_through()`."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
            "imports_passed_through" in ast.unparse(item.context_expr) for item in node.items
        ):
            inside.update(id(child) for child in ast.walk(node))
    return inside


def _room(relative: str) -> str:
    first = relative.split("/")[0]
    return first.removesuffix(".py") if first == "worker.py" else first


def _violations() -> Iterator[str]:
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        yield from _module_violations(relative, tree)


def _excepted(relative: str, name: str) -> bool:
    return any(
        relative == module and (name == imported or name.startswith(f"{imported}."))
        for module, imported in EXCEPTIONS
    )


def _module_violations(relative: str, tree: ast.AST) -> Iterator[str]:
    """One line per import statement and broken rule."""
    room = _room(relative)
    module = relative.removesuffix(".py").replace("/", ".")
    passed = _passed_through(tree) if room == "workflows" else set()
    found: dict[tuple[int, str], str] = {}
    for node, name in _imports(tree):
        target = name.split(".")[0]
        if target not in ROOMS or _excepted(relative, name):
            continue
        reasons = []
        if target in MAY_NOT_IMPORT.get(room, ()):
            reasons.append(f"{room}/ may not import {target}/")
        if room == "workflows" and target == WORKFLOW_PASS_THROUGH and id(node) not in passed:
            reasons.append("only inside workflow.unsafe.imports_passed_through()")
        for layer, forbidden in API_LAYERS.items():
            if module.startswith(layer) and name.startswith(forbidden):
                reasons.append(f"{layer} may not import {', '.join(forbidden)}")
        for reason in reasons:
            found.setdefault((node.lineno, reason), f"{relative}:{node.lineno}: {name} ({reason})")
    yield from found.values()


def test_no_module_outside_tests_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in _modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == [], f"split these modules (at most {MAX_LINES} lines):\n" + "\n".join(long)


BROWSER_MODULES = ROOT / "api" / "static" / "js"
"""The screens' JavaScript modules: held to the same MAX_LINES."""


def test_no_browser_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in sorted(BROWSER_MODULES.glob("*.js"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == [], f"split these modules (at most {MAX_LINES} lines):\n" + "\n".join(long)


def test_imports_go_one_way_between_rooms() -> None:
    found = sorted(set(_violations()))
    assert found == [], "imports against docs/architecture.md's rooms:\n" + "\n".join(found)


def test_every_exception_is_still_needed() -> None:
    """An exception whose import is gone must go too, or the list only ever grows."""
    present = set()
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        present |= {(relative, name) for _, name in _imports(tree)}
    assert set(EXCEPTIONS) <= present


def test_no_exception_is_made_once_and_raised_again() -> None:
    """An exception instance kept at module level collects each raise's traceback (and the
    frames it holds: requests, tokens) for the process's life: raise a new one each time."""
    kept = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Call) and _called_name(value).endswith(("Error", "Exception")):
                kept.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert kept == [], "make these a function returning a new exception:\n" + "\n".join(kept)


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


PASSED = "with workflow.unsafe.imports_passed_through():\n    from activities.webhooks import X\n"


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("bots/a.py", "from store.db import open_database\n", ["bots/ may not import store/"]),
        ("bots/a.py", "def f():\n    import api.app\n", ["bots/ may not import api/"]),
        ("bots/a.py", "from bots.models import BotFlow\nimport re\n", []),
        ("workflows/a.py", "from activities.webhooks import X\n", ["imports_passed_through"]),
        ("workflows/a.py", PASSED, []),
        ("workflows/a.py", "from store import queue\n", ["workflows/ may not import store/"]),
        ("api/usecases/a.py", "from api.routes import agent\n", ["api.usecases may not"]),
        ("api/routes/a.py", "from api.usecases import delivery\n", []),
        ("transbordo/a.py", "import api.app\nimport worker\n", []),
    ],
)
def test_the_checker_reads_each_rule(module: str, source: str, expected: list[str]) -> None:
    """The checker itself, on small made-up modules: each rule reports, allowed imports pass."""
    found = list(_module_violations(module, ast.parse(source)))
    assert len(found) == len(expected), found
    for message, part in zip(found, expected, strict=True):
        assert part in message
