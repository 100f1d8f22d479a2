"""bench/contact_center.py --profile: wall time of the steps of an accept and of a finish."""

from __future__ import annotations

import statistics
from functools import wraps
from typing import Any

from turn_steps import StepTimes

from api import deps
from api.usecases import agent_actions
from api.usecases import offers as offer_actions
from store import queue, routing


def instrument() -> StepTimes:
    """Wrap the steps (module attributes, as the routes and activities call them)."""
    steps = StepTimes()
    steps.wrap(deps, "agent_by_token", "SQL agent by token (auth, each request)")
    steps.wrap(routing, "get_offer", "SQL the offer (accept route)")
    steps.wrap(queue, "claim", "SQL claim (the pickup's local activity)")
    steps.wrap(queue, "finish", "SQL finish (the finish's local activity)")
    steps.wrap(offer_actions, "dispatch", "finish route: dispatch + Signal after the Update")
    steps.wrap(routing, "dispatch", "SQL dispatch (every caller)")
    steps.wrap(offer_actions, "tell", "Signal `offered` from the API")
    update = agent_actions.update

    @wraps(update)
    async def timed(client: Any, workflow_id: str, name: str, *args: Any, **kw: Any) -> Any:
        with steps.step(f"Temporal Update `{name}` (round trip)"):
            return await update(client, workflow_id, name, *args, **kw)

    agent_actions.update = timed  # type: ignore[assignment]
    steps.enabled = True
    return steps


def report(steps: StepTimes) -> None:
    print("where the accept and the finish go (ms):")
    for label, values in steps.times.items():
        print(f"  {label:<52} p50 {statistics.median(values):7.1f}  mean "
              f"{statistics.fmean(values):7.1f}  (n={len(values)})")  # fmt: skip
