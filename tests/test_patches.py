"""The patch bundle (workflows/patches.py) stays what runs that recorded its marker took, and
every workflow patch goes through `patches.patched`."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from workflows import patches

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
BUNDLE_2026_11_30 = {
    "dispatch-freed-slot",
    "desk-wrapup",
    "escape-inactivity",
    "hand-over-at-once",
    "offer-newest",
    "record-batching",
    "record-first-turn",
    "record-local",
    "transfer-snapshot",
    "unengaged-idle",
}
BUNDLE_2026_11_30B = BUNDLE_2026_11_30 | {"hand-over-records", "keep-timer"}


def test_the_bundles_are_frozen() -> None:
    assert patches.ALL == "patches-2026-11-30"
    assert patches.CURRENT == BUNDLE_2026_11_30
    assert patches.ALL_2 == "patches-2026-11-30b"
    assert patches.CURRENT_2 == BUNDLE_2026_11_30B
    assert patches.BUNDLES == ((patches.ALL_2, patches.CURRENT_2), (patches.ALL, patches.CURRENT))
    version_3 = BUNDLE_2026_11_30B | {"log-ahead"}
    assert version_3 == patches.CURRENT_3
    assert version_3 | {"backstop-local"} == patches.CURRENT_4


def test_every_patch_goes_through_patches_patched() -> None:
    used: set[str] = set()
    for path in WORKFLOWS.glob("*.py"):
        source = path.read_text()
        assert "workflow.patched(" not in source or path.name == "patches.py", path.name
        names = re.findall(r"patches\.patched\((\w+)\)", source)
        module = importlib.import_module(f"workflows.{path.stem}")
        used.update(getattr(module, name) for name in names)
    assert used >= patches.CURRENT_2  # a later patch may be outside the bundles: asked on its own
