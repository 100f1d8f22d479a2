"""`workflows.patches.CURRENT` names every patch id the conversation workflow asks about, so a
new conversation takes them all with the bundle's one marker."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from workflows import patches

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


def test_current_names_every_patch_id_in_use() -> None:
    used: set[str] = set()
    for path in WORKFLOWS.glob("*.py"):
        source = path.read_text()
        assert "workflow.patched(" not in source or path.name == "patches.py", path.name
        names = re.findall(r"patches\.patched\((\w+)\)", source)
        module = importlib.import_module(f"workflows.{path.stem}")
        used.update(getattr(module, name) for name in names)
    assert used == set(patches.CURRENT)
