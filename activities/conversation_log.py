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
        record_batch(self._engine, batch)
