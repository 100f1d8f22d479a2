"""Activity: record transcript entries and conversation status in the SQL log."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from store.conversations import record_batch
from workflows.contracts import RecordBatch


class ConversationLog:
    """Holds the DB engine the activity writes with (one per worker process)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="record_messages")
    def record(self, batch: RecordBatch) -> None:
        """As a local activity (the pump's batches, the backstop), within its attempt's timeout:
        a locked database fails it in time for the workflow to hand the batch to a regular
        activity, instead of holding its workflow task for SQLite's whole busy timeout (the
        thread of a timed-out local activity is not interrupted; core waits for it)."""
        info = activity.info()
        timeout = info.start_to_close_timeout if info.is_local else None
        record_batch(self._engine, batch, within=timeout.total_seconds() if timeout else None)
