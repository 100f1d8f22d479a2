"""Activity: record transcript entries and conversation status in the SQL log."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from store.conversations import record_batch
from workflows.contracts import RecordBatch

LOCAL_SHARE = 0.8
"""The share of a local attempt's timeout its write may wait for a locked database."""


class ConversationLog:
    """Holds the DB engine the activity writes with (one per worker process)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="record_messages", no_thread_cancel_exception=True)
    def record(self, batch: RecordBatch) -> None:
        """As a local activity (the pump's batches, the backstop), within most of its timeout:
        a locked database fails it in time for the workflow to hand the batch to a regular
        activity, instead of holding its workflow task for SQLite's whole busy timeout (core
        waits for a timed-out local activity's thread). Never interrupted by a cancel: the
        write is short or bounded, and an exception raised into it at an arbitrary line could
        leave this process's writer lock taken."""
        info = activity.info()
        timeout = info.start_to_close_timeout or info.schedule_to_close_timeout
        within = timeout.total_seconds() * LOCAL_SHARE if info.is_local and timeout else None
        record_batch(self._engine, batch, within=within)
