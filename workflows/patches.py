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

A run started at code version 2 or later (`ConversationInput.code_version`, set by the API
at `CODE_VERSION`; continue-as-new keeps it) takes every id of `CURRENT_2` with no marker at
all: a new run has no older path to keep, so there is nothing for a marker to tell a replay.
Runs without the field (every history recorded before it) are at version 1 and ask as above.
The version lives on the workflow instance (`RunVersion`, made in `@workflow.init`, before any
handler or the run method can ask): per run, deterministic. A version-2 run that a worker older
than the field started (a rolling deploy in the wrong order) recorded a bundle's marker, and
Temporal fails the replay of a patch marker nobody asks for; so while replaying, the run's
first ask looks for either bundle's marker (`workflow.patched` records nothing during a replay)
and, when it is there, the run follows version 1, as the older worker did (a worker from before
the first bundle asked its patches one by one, later in the run: that order cannot be mended).
A run at a version above `CODE_VERSION` (a newer API) is run as version 1, markers recorded;
the newer workers can read that back only from a worker of version 2 (its first ask is a
bundle's): a worker of version 3 or later asks `log-ahead` first, before any bundle, and the
newer worker's check, asking a bundle first, fails its replay. The other way round cannot be
mended: an older worker replaying a version-2 run without the marker takes the old paths and
fails its workflow task until a newer worker takes it. Deploy workers first, then the API
(docs/operations.md, "Upgrades").
"""

from __future__ import annotations

from typing import Protocol

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

LOG_AHEAD = "log-ahead"
"""Patch id: `log_ahead` requests put the run in ahead mode (workflows/message_log.py). Runs
at version 3 take it without a marker; a running version-2 run asks it (one marker) at its
first such request; a worker from before it ran such requests in the old mode, and its
history, with no marker, replays that way."""
CURRENT_3 = CURRENT_2 | {LOG_AHEAD}
"""What version 3 takes without markers: frozen as the bundles are."""

BACKSTOP_LOCAL = "backstop-local"
"""Patch id: ahead mode's backstop before the run closes or continues as new is a local
activity (workflows/message_log.py). Runs at version 4 take it without a marker; older runs ask
it (one marker) when their backstop comes; their histories, with no marker, replay as before."""
CURRENT_4 = CURRENT_3 | {BACKSTOP_LOCAL}
"""What version 4 takes without markers: frozen as the bundles are."""

CONTINUE_WHEN_IDLE = "continue-when-idle"
"""Patch id: a run due to continue as new goes on serving (timers, leave, Updates) until nothing
is in flight, then continues (workflows/continuing.py); before it, the run stopped and waited
for its deliveries (a webhook's retries: up to 24 h). No code version takes it without a marker:
it is asked on its own when continue-as-new first comes due, so only runs that continue as new
pay its marker; histories without it (and runs already waiting when it was deployed) keep the
old way."""

MENU_PRESS = "menu-press"
"""Patch id: a channel's menu button press is read against the menu asked now
(workflows/button_presses.py): an older menu's button answers nothing but an escape route.
Asked on its own, only when a press comes; histories before it read the number against
whatever was asked."""

CHANNEL_BACKLOG = "channel-backlog"
"""Patch id: channel entries that fell out of the transcript tail before the channel pump reached
them are reported to the agent in a delivery-failure notice instead of skipped in silence
(workflows/channel_outbox.py). Asked on its own, only when such a gap is met."""
WEBHOOKS_CARRIED = "webhooks-carried"
"""Patch id: a run due to continue as new no longer waits for its webhook deliveries: the
events not yet delivered travel into the next run (workflows/webhook_events.py). Asked on its
own when continue-as-new first comes due with webhook events pending."""
CHANNEL_GIVE_UP_BEHIND = "channel-give-up-behind"
"""Patch id: after one channel send gave up (the platform down for CHANNEL_GIVE_UP), the entries
waiting behind it do not each get an hour of their own (workflows/channel_outbox.py). Asked on
its own, only when a send has given up; histories before it retried each entry for the hour."""
CHANNEL_ACK_ALONE = "channel-ack-alone"
"""Patch id: a channel customer's message whose turn put nothing for the channel in the outbox
(the voicemail time, the queue, an agent yet to answer) is acknowledged on its own, by the
`channel_ack` activity (workflows/channel_acks.py); before it, only with the next entry sent.
Asked on its own, only when such an acknowledgement is first due in a run."""
CARE_AT_PICKUP = "care-at-pickup"
"""Patch id: a pickup that carries its service's care settings (read by the API at the pickup)
applies them (workflows/contracts.py `PickupRequest.with_carried_care`); a worker from before
it ignored them, and its history, with no marker, replays on the queueing's copy. Runs at
version 5 take it without a marker (every handoff's pickup would record one); older runs ask it
on its own, only when such a pickup comes."""
CURRENT_5 = CURRENT_4 | {CARE_AT_PICKUP}
"""What version 5 takes without markers: frozen as the bundles are."""
CODE_VERSION = 5
"""The code version new runs start at (`ConversationInput.code_version`). What a version means is
frozen, as a bundle is: version 2 takes `CURRENT_2` without markers, and its run leaves its
pending timer to close with it (workflows/kept_timer.py `close`); version 3 takes `CURRENT_3`
too, version 4 `CURRENT_4`, version 5 `CURRENT_5`. Patches added later are asked as before
until a version 6 takes them (its own frozen set, new recorded histories). A version-5 run that
a version-4 worker started cannot be replayed by a version-5 worker (see the module's
docstring): deploy every worker before the API."""


class RunVersion:
    """The code version a run follows: its input's, unless an older worker started it."""

    def __init__(self, started_at: int) -> None:
        self.started_at = started_at
        self._follows: int | None = None

    def follows(self) -> int:
        """Decided at the run's first patch (in its first workflow task: `run` asks KEEP_TIMER
        before its first await, or the start's `message` asks LOG_AHEAD first; every start
        carries a message). A run at a version this code does not know (a newer API's) follows
        version 1, recording markers (which newer workers read back only from a version-2
        worker's run: the module's docstring). A
        version-2 run whose history has a bundle's marker was started by a worker older than
        versions, of either bundle's era: core announces a workflow task's markers before its
        workflow code runs, and the older worker asked its bundle in that same first task, so
        asking both records nothing."""
        if self._follows is None:
            if self.started_at > CODE_VERSION:  # a newer API's run: nothing is asked
                self._follows = 1
            else:
                self._follows = 1 if self._started_by_an_older_worker() else self.started_at
        return self._follows

    def _started_by_an_older_worker(self) -> bool:
        """While replaying, a bundle's marker in a version-2 run's first task (asked live,
        `workflow.patched` would record one)."""
        return (
            self.started_at >= 2
            and workflow.unsafe.is_replaying()
            and (workflow.patched(ALL_2) or workflow.patched(ALL))
        )


class Versioned(Protocol):
    """A workflow that keeps its run's `RunVersion` (ConversationWorkflow)."""

    run_version: RunVersion


def run_version() -> int:
    """The code version the current run follows (1: started before versions existed)."""
    run: Versioned | None = workflow.instance()
    if run is None:  # only inside the workflow's __init__, where nothing should ask
        raise RuntimeError("a patch asked before the workflow's __init__ returned")
    return run.run_version.follows()


def patched(patch_id: str) -> bool:
    """`workflow.patched(patch_id)`, answered without a marker by the run's code version, or by
    a bundle's one marker when the run has it. (`workflow.patched` is memoised per run: the
    bundle is decided at the run's first patch.)"""
    version = run_version()
    for at_least, ids in ((5, CURRENT_5), (4, CURRENT_4), (3, CURRENT_3), (2, CURRENT_2)):
        if version >= at_least and patch_id in ids:
            return True
    for bundle, ids in BUNDLES:
        if patch_id in ids and workflow.patched(bundle):
            return True
    return workflow.patched(patch_id)
