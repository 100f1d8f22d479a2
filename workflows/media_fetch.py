"""`MediaFetchWorkflow`: a customer's WhatsApp/Telegram media brought into the attachment store.

Started by the API when a channel message carries media (api/usecases/channel_media.py), one
per attachment (id `media:<attachment id>`), beside the conversation: the conversation's own
workflow is not involved, so its histories are unchanged. It runs the activity
`channel_media_fetch` with retries (backoff up to five minutes, for an hour). The activity marks
a permanent refusal `failed` itself; when the retries run out, `channel_media_gave_up` marks it
`failed` too (patch `media-gave-up`: before it the attachment stayed `pending` for good, and the
screens asked for it again forever), and the download route answers 409
`attachment_unavailable`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows import patches


class MediaFetch(BaseModel):
    """The input of the workflow and of its activity `channel_media_fetch`."""

    attachment_id: str
    bot: str
    platform: str
    media_id: str


MEDIA_GAVE_UP = "media-gave-up"
"""Patch id: a fetch whose retries ran out marks its attachment `failed` (runs before it ended
with the attachment `pending`)."""
FETCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
)


@workflow.defn
class MediaFetchWorkflow:
    def __init__(self) -> None:
        self.run_version = patches.RunVersion(1)  # patches.Versioned: its patches are asked alone

    @workflow.run
    async def run(self, job: MediaFetch) -> str:
        try:
            status: str = await workflow.execute_activity(
                "channel_media_fetch",
                job,
                result_type=str,
                start_to_close_timeout=timedelta(minutes=2),
                schedule_to_close_timeout=timedelta(hours=1),
                retry_policy=FETCH_RETRY,
            )
        except ActivityError:
            if patches.patched(MEDIA_GAVE_UP):
                try:
                    await workflow.execute_activity(
                        "channel_media_gave_up",
                        job,
                        start_to_close_timeout=timedelta(seconds=30),
                        schedule_to_close_timeout=timedelta(hours=1),
                    )
                except ActivityError:  # the database down for the hour too: pending, as before
                    workflow.logger.warning("attachment %s left pending", job.attachment_id)
            return "failed"
        return status
