"""Every patch of the conversation workflow at once, for a new run: one marker instead of one each.

On a new run `workflow.patched(id)` records a marker and (the SDK's core does it) upserts the
`TemporalChangeVersion` search attribute: two history events per patch per run, which the server
stores and indexes — 6 of a queued customer's ~34 events before this (bench/README.md, third
pass). `patched(id)` asks first for the bundle `ALL`: a run that meets its first patch live
(every new run) records that one marker and takes every patch in `CURRENT`; a history without
the bundle's marker (recorded before it) gets False for it and asks each patch as it always did,
so tests/histories replay unchanged. Safe in a rolling deploy as any patch: a run started on an
older worker has no bundle marker, so a newer one replays it patch by patch. A patch added later
is not in `CURRENT`: it is asked on its own or goes into a new bundle (`BUNDLES`, newest first:
a new run records the newest bundle's marker only; `workflow.patched` is memoised per run, so
the first bundle a run asks for decides, live and on replay alike).
"""

from __future__ import annotations

from temporalio import workflow

ALL = "patches-2026-11-30"
"""Patch id of the bundle: every id in CURRENT."""
CURRENT = frozenset(
    {
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
)
"""The patch ids the bundle stands for: frozen. A run that recorded the bundle's marker took
exactly these, so adding an id here would change how such a run replays. A patch added later is
asked on its own (`patched` passes it to `workflow.patched`), or goes into a new bundle with its
own id, asked before this one."""


ALL_2 = "patches-2026-11-30b"
"""Patch id of the second bundle: every id in CURRENT_2."""
CURRENT_2 = CURRENT | {"hand-over-records", "keep-timer"}
"""The first bundle's ids and the two patches of the fourth speed pass: frozen as CURRENT is."""

BUNDLES = ((ALL_2, CURRENT_2), (ALL, CURRENT))
"""Newest first: a run without the newer bundle's marker is asked for the older one."""


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)`, answered by a bundle's one marker when the run has it.
    (`workflow.patched` is memoised per run: the bundle is decided at the run's first patch.)"""
    for bundle, ids in BUNDLES:
        if patch_id in ids and workflow.patched(bundle):
            return True
    return workflow.patched(patch_id)
