"""A new run's first turn recorded by the hand-over (patch `hand-over-records`): what the
workflow asks (`QueuedRecord`), how the hand-over writes and reads it back in the enqueue's
transaction (`FirstTurnRecord`, store/hand_over.py), and the wait notice both sides build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Connection

from omni.care_words import about_minutes
from store import hand_over as hand_over_store
from store.conversations import record_on
from store.tables import conversations, messages
from workflows.contracts import Message, RecordBatch


class WaitEstimate(BaseModel):
    position: int | None
    estimated_wait_seconds: int | None


class QueuedRecord(BaseModel):
    """A new run's first turn, recorded by the hand-over when it queues the customer (patch
    `hand-over-records`, workflows/queueing.py): the batch the pump would record after its
    delay (the status `waiting`, the turn's messages and the block's text), the service's name
    and the estimated-wait notice filled in here, so the run needs no recording task of its
    own. Written in the queue entry's transaction, and a retry answers with what is there
    (`FirstTurnRecord`, store/hand_over.py)."""

    batch: RecordBatch
    first_seq: int
    """The first seq the workflow reserved for the block's text and the notice."""
    notice_seq: int | None
    """The notice's seq (None: no notice asked; none either without an estimate)."""
    at: datetime

    def reserved_through(self) -> int:
        if self.notice_seq is not None:
            return self.notice_seq
        return max([self.first_seq - 1, *(m.seq for m in self.batch.messages)])


@dataclass(frozen=True)
class Recorded:
    """A first turn as SQL holds it: its messages up to `through`, the notice's estimate."""

    through: int
    estimate: WaitEstimate | None


class FirstTurnRecord:
    """`store.hand_over.FirstTurn` for a `QueuedRecord`: the batch, its service's name and the
    wait notice from the hand-over's estimate. What is returned is read back from SQL, so an
    attempt answers with what was recorded, whichever attempt recorded it."""

    def __init__(self, record: QueuedRecord) -> None:
        self.record = record

    def write(self, conn: Connection, found: hand_over_store.HandOver) -> Recorded:
        record, messages = self.record, list(self.record.batch.messages)
        place, seconds = found.estimate or (None, None)
        if record.notice_seq is not None and seconds is not None:
            estimate = WaitEstimate(position=place, estimated_wait_seconds=seconds)
            messages.append(wait_notice(record.notice_seq, record.at, estimate))
        update = {"service": found.service.name, "messages": messages}
        record_on(conn, record.batch.model_copy(update=update))
        written = self.written(conn)
        assert written is not None
        return written

    def written(self, conn: Connection) -> Recorded | None:
        """None unless the first turn is recorded (status `waiting`: nothing before the
        hand-over records a new run's row)."""
        batch, notice_seq = self.record.batch, self.record.notice_seq
        status = conn.execute(_STATUS, {"id": batch.conversation_id}).scalar()
        if status != "waiting":
            return None
        notice = None
        if notice_seq is not None:
            notice = conn.execute(
                _NOTICE, {"id": batch.conversation_id, "seq": notice_seq}
            ).scalar()
        through = max((m.seq for m in batch.messages), default=0)
        if notice is None:
            return Recorded(through=through, estimate=None)
        estimate = WaitEstimate(
            position=notice.get("position"), estimated_wait_seconds=notice["estimated_wait_seconds"]
        )
        return Recorded(through=max(through, self.record.reserved_through()), estimate=estimate)


_STATUS = sa.select(conversations.c.status).where(conversations.c.id == sa.bindparam("id"))
_NOTICE = sa.select(messages.c.data).where(
    messages.c.conversation_id == sa.bindparam("id"),
    messages.c.seq == sa.bindparam("seq"),
    messages.c.kind == "wait_time_notice",
)


def wait_notice(seq: int, at: datetime, estimate: WaitEstimate) -> Message:
    """The estimated-wait notice (`wait_time_notice`), as the workflow appends it."""
    seconds = estimate.estimated_wait_seconds
    assert seconds is not None
    return Message(
        seq=seq,
        sender="bot",
        kind="wait_time_notice",
        text=wait_text(seconds),
        data={"estimated_wait_seconds": seconds, "position": estimate.position},
        at=at,
    )


def wait_text(seconds: int) -> str:
    return f"Tempo estimado de espera: {about_minutes(seconds)}."
