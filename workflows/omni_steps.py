"""How a conversation runs an Omni SQL step (claim, close, finish, transfer, voicemail...): a
short local activity, on the reply's path, retried through a database's failover."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

OMNI_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10), non_retryable_error_types=["NotFound", "NoResultFound"]
)
"""Until `OMNI_GIVE_UP`: after 10 attempts (the policy before), a timer's or a leave's step
failed the whole conversation over a database's minute of failover, a ghost left in the queue
or an agent's slot held. What cannot succeed on a retry (no such entry) is not retried."""
OMNI_GIVE_UP = timedelta(minutes=10)
OMNI_TIMEOUT = timedelta(seconds=10)


async def omni_step(activity: Any, arg: Any) -> Any:
    """Run `activity(arg)` as an Omni step (from workflow code)."""
    return await workflow.execute_local_activity_method(
        activity,
        arg,
        start_to_close_timeout=OMNI_TIMEOUT,
        schedule_to_close_timeout=OMNI_GIVE_UP,
        retry_policy=OMNI_RETRY,
    )
