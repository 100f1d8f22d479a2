"""Recorded conversation histories replay against the current ConversationWorkflow.

The files under ``tests/histories/`` were recorded from real runs on the dev server by
``python -m tests.record_histories``. A change to the workflow that would break conversations
already running (a new activity, timer or branch without ``workflow.patched``) fails here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from encryption.codec import encrypted_converter
from transbordo.stack import stack_ring
from workflows import menu_press, patches
from workflows.conversation import ConversationWorkflow
from workflows.kept_timer import KeptTimer
from workflows.sandbox import strict_workflow_runner, workflow_runner

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import ConversationInput, ConversationSnapshot, CustomerMessage

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    workflow_id = path.stem.split(".")[0]
    return WorkflowHistory.from_json(f"conversation:{workflow_id}", path.read_text())


def replayer(*workflows: type, strict: bool = False) -> Replayer:
    return Replayer(
        workflows=list(workflows),
        workflow_runner=strict_workflow_runner() if strict else workflow_runner(),
        data_converter=encrypted_converter(stack_ring()),  # clear histories pass through
    )


def test_the_recorded_histories_are_there() -> None:
    names = {path.stem.split(".")[0] for path in HISTORIES}
    assert {
        "menu_question_walk",
        "question_timeout",
        "http_blocks",
        "leave",
        "continue_as_new",
        "handoff_finish",
        "transfer",
        "abandon",
        "voicemail",
        "escape_inactivity",
        "whatsapp_handoff",
        "desk",  # a note, tags, a finish with tags (patch `desk-wrapup`)
        "auto_offer",  # an offer that lapses, then is accepted (Signal `offered`)
        "care",  # periodic wait notices, a silent agent's requeue, CSAT asked again then answered
        "supervisor",  # whisper, barge-in, take-over, reassign (Update `supervise`)
        "queued_first_turn",  # queued by its first message: the hand-over records the turn
        "continue_while_delivering",  # due to continue as new while a webhook is retried
        "menu_press",  # an older menu's button pressed on WhatsApp (patch `menu-press`)
        "channel_backlog",  # entries lost behind a failing send told (patch `channel-backlog`)
        "webhooks_carried",  # a webhook event carried into the next run (`webhooks-carried`)
        "channel_give_up",  # the entries behind a send given up told at once (its patch)
        "channel_ack_alone",  # messages in the queue read on their own (`channel-ack-alone`)
    } <= names
    # The Humano block's histories twice: made before ConversationState and ServiceSnapshot
    # (old input and activity result shapes, no `transfer-snapshot` patch), and made after.
    stems = {path.stem for path in HISTORIES}
    for name in ("handoff_finish", "transfer", "abandon", "voicemail", "escape_inactivity"):
        assert {name, f"{name}.before-snapshot"} <= stems
    # And recorded after the `hand-over-at-once` patch (one local activity queues the customer).
    for name in ("handoff_finish", "abandon", "voicemail"):
        assert f"{name}.hand-over-at-once" in stems
    # And by runs that took the second patch bundle (`keep-timer`, `hand-over-records`).
    for name in ("handoff_finish", "transfer", "abandon", "voicemail", "menu_question_walk"):
        assert f"{name}.bundle-2" in stems
    assert "queued_first_turn.bundle-2" in stems
    # And by runs at code version 2 (the bundles without markers, the idle timer not cancelled
    # at the end), continue-as-new included: the next run keeps the version.
    for name in ("handoff_finish", "transfer", "abandon", "voicemail", "menu_question_walk"):
        assert f"{name}.run-version-2" in stems
    assert "queued_first_turn.run-version-2" in stems
    assert {"continue_as_new.run-version-2.run1", "continue_as_new.run-version-2.run2"} <= stems
    # And by runs at code version 4, whose backstop before the run closes or continues as new
    # is a local activity (patch `backstop-local`), continue-as-new included.
    for name in ("handoff_finish", "transfer", "abandon", "desk", "menu_question_walk"):
        assert f"{name}.backstop-local" in stems
    assert "continue_as_new.backstop-local.run1" in stems
    # And a run that waited for its webhook before continuing as new, then one that lived on
    # meanwhile (patch `continue-when-idle`).
    assert {"continue_while_delivering.run1", "continue_while_delivering.run2"} <= stems
    assert "continue_while_delivering.continue-when-idle.run1" in stems
    assert {"webhooks_carried.run1", "webhooks_carried.run2"} <= stems
    # And a run from before `channel-ack-alone` that continued as new with a customer message
    # not acknowledged yet (the next run asks nothing for it).
    assert {"ack_due_at_continue.run1", "ack_due_at_continue.run2"} <= stems


@pytest.mark.parametrize("strict", [False, True], ids=["worker-sandbox", "full-sandbox"])
async def test_recorded_histories_replay(strict: bool) -> None:
    """One replayer for all files (as a worker would see them); each result named by its file.
    `full-sandbox`: the workflow code re-imported in the sandbox, where a clock, random or I/O
    call of ours fails (the worker passes it through, workflows/sandbox.py)."""
    files = {load(path).run_id: path.name for path in HISTORIES}

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in HISTORIES:
            yield load(path)

    replayed: dict[str, str | None] = {}
    async with replayer(ConversationWorkflow, strict=strict).workflow_replay_iterator(
        histories()
    ) as results:
        async for result in results:
            failure = result.replay_failure
            replayed[files[result.history.run_id]] = None if failure is None else repr(failure)
    assert sorted(replayed) == sorted(files.values())
    assert {name: failure for name, failure in replayed.items() if failure} == {}


def started_by_an_older_worker(path: Path, version: int) -> WorkflowHistory:
    """A run as an older worker (one that ignores the input's `code_version`) would have
    recorded it had a newer API already started it at `version`."""
    data = json.loads(path.read_text())
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]
    value = json.loads(base64.b64decode(payload["data"]))
    assert "code_version" not in value
    changed = json.dumps({**value, "code_version": version}).encode()
    payload["data"] = base64.b64encode(changed).decode()
    return WorkflowHistory.from_json(f"conversation:{path.stem.split('.')[0]}", json.dumps(data))


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6])
async def test_a_newer_run_an_older_worker_started_replays(version: int) -> None:
    """Deployed in the wrong order (the API before the workers), an older worker runs a newer
    run with its bundle's marker (either bundle's era) and cancels its timer at the end.
    Temporal fails the replay of a patch marker nobody asks for: the run sees the marker
    (workflows/patches.py `RunVersion`) and follows version 1, as the worker that recorded it
    did (versions 3 to 5 too: such a run never took ahead mode, the local backstop or the care
    a pickup carries). A version this code does not know yet (6) is run as version 1 here too,
    markers recorded. (A worker of version 3 or later, unlike these bundle-era ones, asks
    `log-ahead` before any bundle: its run of a newer version does not replay on a newer
    worker; docs/operations.md, "Upgrades".)"""
    paths = [p for p in HISTORIES if p.name.endswith((".bundle-2.json", ".bundled-patches.json"))]
    assert len(paths) == 10
    for path in paths:
        result = await replayer(ConversationWorkflow).replay_workflow(
            started_by_an_older_worker(path, version), raise_on_replay_failure=False
        )
        assert result.replay_failure is None, (path.name, result.replay_failure)


@workflow.defn(name="ConversationWorkflow")
class SleepsFirst(ConversationWorkflow):
    """The conversation workflow with one change nobody patched: a timer before anything else."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(input)


async def test_the_replayer_catches_an_unpatched_change() -> None:
    path = next(p for p in HISTORIES if p.stem == "question_timeout")
    result = await replayer(SleepsFirst).replay_workflow(load(path), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)
    assert "Nondeterminism" in str(result.replay_failure)


@workflow.defn(name="ConversationWorkflow")
class LivesOnUnasked(ConversationWorkflow):
    """Due to continue as new, it lives on until idle (workflows/continuing.py) without asking
    the patch `continue-when-idle`."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    async def _continue_if_due(self, timer: KeptTimer | None) -> None:
        if self._continue_as_new_due():
            self._when_idle = True
        await super()._continue_if_due(timer)


@workflow.defn(name="ConversationWorkflow")
class WaitsUnasked(ConversationWorkflow):
    """Due to continue as new, it stops and waits (the way before `continue-when-idle`)
    without asking the patch."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    async def _continue_if_due(self, timer: KeptTimer | None) -> None:
        if self._continue_as_new_due():
            self._when_idle = False
        await super()._continue_if_due(timer)


@pytest.mark.parametrize(
    ("recorded", "changed"),
    [
        ("continue_while_delivering.run1", LivesOnUnasked),
        ("continue_while_delivering.continue-when-idle.run1", WaitsUnasked),
    ],
    ids=["waited-replayed-living", "lived-replayed-waiting"],
)
async def test_continuing_when_idle_replays_only_through_its_patch(
    recorded: str, changed: type[ConversationWorkflow]
) -> None:
    """A run due to continue as new while its webhook was down, recorded either way, replays
    (test_recorded_histories_replay) only because the patch tells which way it went."""
    path = next(p for p in HISTORIES if p.stem == recorded)
    result = await replayer(changed).replay_workflow(load(path), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError), result.replay_failure


@workflow.defn(name="ConversationWorkflow")
class PressReadAsBefore(ConversationWorkflow):
    """Asks the patch `menu-press` when a press comes (its marker matched) but reads the press's
    number against whatever is asked, as before it."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    def _read_press(self, msg: CustomerMessage) -> menu_press.Press:
        super()._read_press(msg)
        return menu_press.Press(msg.text)


@workflow.defn(name="ConversationWorkflow")
class BacklogPassedOver(ConversationWorkflow):
    """Asks the patch `channel-backlog` when entries left the tail unsent (its marker matched)
    but passes over them in silence, as before it."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    async def _tell_backlog(self, platform: str) -> None:
        self._channel_lost = None


@workflow.defn(name="ConversationWorkflow")
class WaitsForWebhooks(ConversationWorkflow):
    """Asks the patch `webhooks-carried` when due with an event pending (its marker matched)
    but waits for the delivery, as before it."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    def _carry_when_due(self) -> None:
        self._carry_asked_when_pending = True
        if self._carried is None and self._webhook_outbox:
            patches.patched(patches.WEBHOOKS_CARRIED)
            self._carried = False


@pytest.mark.parametrize(
    ("recorded", "changed"),
    [
        ("menu_press", PressReadAsBefore),
        ("channel_backlog", BacklogPassedOver),
        ("webhooks_carried.run1", WaitsForWebhooks),
    ],
    ids=["menu-press", "channel-backlog", "webhooks-carried"],
)
async def test_the_newest_patches_histories_replay_only_along_their_new_path(
    recorded: str, changed: type[ConversationWorkflow]
) -> None:
    """Each history took its patch's new path, which issues other commands than the old one
    (a stale press asks the menu again where it would have ended the conversation; the backlog
    notice is recorded before the next send; the carried event is never sent in the first run):
    code that asks the patch but goes the old way fails to replay it, so the history guards
    the new path and not only the marker."""
    path = next(p for p in HISTORIES if p.stem == recorded)
    result = await replayer(changed).replay_workflow(load(path), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError), result.replay_failure
