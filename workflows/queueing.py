"""Putting a customer in a service's queue: the SQL steps of the Humano block's start.

Since patch `hand-over-at-once` they are one local activity (`omni_hand_over`: resolve, enqueue,
wait estimate); histories from before take them one by one (three local activities, each one
more round trip through the worker inside the queueing workflow task). Called by
`HumanoBlock._hand_over` (workflows/humano.py), which keeps what the conversation does with the
answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.first_turn import QueuedRecord, WaitEstimate
    from activities.omni_queue import (
        EnqueueRequest,
        HandoffTarget,
        HandOverRequest,
        HandOverResult,
        OmniActivities,
        ResolveRequest,
    )
    from bots.models import HumanOutcome
    from workflows.contracts import ServiceSnapshot

from workflows import patches

HAND_OVER_AT_ONCE = "hand-over-at-once"
"""Patch id: resolve, enqueue and the wait estimate in one local activity."""

Omni = Callable[[Any, Any], Awaitable[Any]]
"""Runs an Omni activity as the workflow does (`HumanoBlock._omni`)."""


@dataclass(frozen=True)
class Queued:
    target: HandoffTarget
    entry_id: str
    estimate: WaitEstimate | None
    """Asked for and known, or not asked; `fetched` says whether it was asked already."""
    fetched: bool
    """False on the step-by-step path: the caller asks for the estimate itself, later (so the
    old histories' commands come in their order)."""
    recorded_through: int | None = None
    """The hand-over recorded the first turn (`QueuedRecord`), its messages up to this seq."""


async def queue_customer(
    omni: Omni,
    resolve: ResolveRequest,
    enqueue: EnqueueRequest,
    *,
    closed: bool,
    check_agents_online: bool,
    estimate: bool,
    record: QueuedRecord | None = None,
) -> Queued | HumanOutcome:
    """The customer in the queue, or the outcome that stops it: `unavailable` (no valid key),
    `closed` (`closed` and the key is good), `no_agents`."""
    if patches.patched(HAND_OVER_AT_ONCE):
        result: HandOverResult = await omni(
            OmniActivities.hand_over,
            HandOverRequest(
                resolve=resolve,
                enqueue=enqueue,
                closed=closed,
                check_agents_online=check_agents_online,
                estimate=estimate,
                record=record,
            ),
        )
        stopped = _stopped(result.target, closed, check_agents_online)
        if stopped is not None or result.target is None or result.entry_id is None:
            return stopped or "unavailable"
        return Queued(
            result.target, result.entry_id, result.estimate, True, result.recorded_through
        )
    target: HandoffTarget | None = await omni(OmniActivities.resolve, resolve)
    stopped = _stopped(target, closed, check_agents_online)
    if stopped is not None or target is None:
        return stopped or "unavailable"
    entry = enqueue.model_copy(update={"service_id": target.service_id})
    entry_id: str = await omni(OmniActivities.enqueue, entry)
    return Queued(target, entry_id, None, fetched=False)


def _stopped(
    target: HandoffTarget | None, closed: bool, check_agents_online: bool
) -> HumanOutcome | None:
    if target is None:
        return "unavailable"
    if closed:
        return "closed"
    if check_agents_online and target.agents_logged_in == 0:
        return "no_agents"
    return None


def with_cards_of(target: ServiceSnapshot, source: ServiceSnapshot) -> ServiceSnapshot:
    """The target with the source's queue cards: what transfers did before the patch
    `transfer-snapshot` (workflows/humano.py)."""
    return target.model_copy(
        update={
            "notifications_enabled": source.notifications_enabled,
            "notification_interval_seconds": source.notification_interval_seconds,
            "notification_cards": source.notification_cards,
        }
    )
