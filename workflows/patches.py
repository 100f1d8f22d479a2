"""Patches a new conversation takes from its start, without asking `workflow.patched`.

On a new run `workflow.patched(id)` records a marker and (the SDK's core does it) upserts the
`TemporalChangeVersion` search attribute: two history events per patch per run that the server
stores and indexes — 6 of a queued customer's ~33 events (bench/README.md, third pass). A run
whose `ConversationInput.patched` holds the id follows the patched code from its first task and
records neither; the API starts every conversation with `CURRENT`. Runs started before the field
existed carry it empty and ask `workflow.patched` as they always did, so their histories replay
unchanged (tests/histories). A patch added later is not in an older run's list: that run asks.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import workflow

CURRENT = (
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
)
"""Every patch id of the conversation workflow (tests/test_patches.py checks it is complete)."""


class _Input(Protocol):
    patched: list[str]


class _Run(Protocol):
    _input: _Input


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)`, or True without a marker for a run started with it."""
    run: _Run = workflow.instance()
    return patch_id in run._input.patched or workflow.patched(patch_id)
