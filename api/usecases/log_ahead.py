"""Writing an Update's entries to the SQL log before the API answers (read-your-writes).

Customer messages, agent messages, pickups and finishes are sent `log_ahead`: the workflow
leaves their entries to the API, which writes them (and the row's status, when the Update gives
it) before it answers; the workflow records them again with its own records, every 50 entries
and before its run closes, as a backstop (workflows/message_log.py). So a message costs its
Update and nothing more in Temporal. When the API knows a write did not happen, it tells the
workflow (`log_behind`), which records them at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError

from store import conversations as conversation_log
from store import loop_statements, loop_writes
from store.conversations import NewConversation
from workflows.contracts import LogStatus, Message
from workflows.conversation import ConversationWorkflow

log = logging.getLogger(__name__)


async def write_ahead(
    client: Client,
    engine: Engine,
    workflow_id: str,
    conversation_id: str,
    entries: Sequence[Message],
    status: LogStatus | None = None,
    *,
    new: NewConversation | None = None,
) -> None:
    """Write `entries` (and `status`) in one transaction, with a new conversation's row (`new`)
    first: on the event loop when that need not wait (`_on_the_loop`), else from a thread. A failed
    write of the entries only logs: the answer does not depend on it; the row's does (it is
    then written on its own, and its failure is the request's). Whatever stops the entries'
    write (an error, the request cancelled), the workflow is told, so its pump records them at
    once."""

    def write() -> bool:
        after_checkpoint = loop_writes.checkpointed(engine)
        try:
            conversation_log.record_turn(engine, conversation_id, entries, status, new=new)
        except SQLAlchemyError as exc:
            log.warning("entries of %s not written ahead of its record: %s", conversation_id, exc)
            if new is not None:
                conversation_log.ensure_conversation(engine, **asdict(new))
            return not entries  # nothing the workflow must record for the caller
        loop_writes.thread_wrote(engine, after_checkpoint)
        _open_for_loop(engine)
        return True

    if not entries and new is None:
        return
    written = False
    try:
        written = await _on_the_loop(
            client, engine, workflow_id, conversation_id, entries, status, new
        )
        if not written:
            written = await asyncio.to_thread(write)
    finally:
        if not written:
            report_missed_write(client, workflow_id)


async def _on_the_loop(
    client: Client,
    engine: Engine,
    workflow_id: str,
    conversation_id: str,
    entries: Sequence[Message],
    status: LogStatus | None,
    new: NewConversation | None,
) -> bool:
    """The write on the event loop when it need not wait; False, nothing written (or nothing
    known to be), and a thread writes (waiting, logging, reporting failures) as before.
    SQLite: when nobody else is writing (store/loop_writes.py); every `CHECKPOINT_EVERY` such
    writes a thread checkpoints the WAL. PostgreSQL: the turn's one statement on the loop's
    connection when it is free (store/loop_statements.py); after a failure there the thread's
    write repeats it (idempotent); the workflows of turns it committed that a crash may have
    taken back (not yet flushed when it failed) are told to record them."""
    try:
        if engine.dialect.name != "sqlite":
            one = conversation_log.one_statement(engine, conversation_id, entries, status, new)
            if one is None:
                return False
            lost = functools.partial(_recorded_again, client)
            return await loop_statements.write(engine, *one, workflow_id, lost)
        conversation_log.record_turn(
            engine, conversation_id, entries, status, new=new, on_the_loop=True
        )
    except loop_writes.LoopBusy:
        return False
    except Exception as exc:  # noqa: BLE001 - any failure: the thread's write decides
        log.debug("turn of %s not written on the loop: %s", conversation_id, exc)
        return False
    if loop_writes.checkpoint_due(engine):
        try:
            checkpointing = asyncio.get_running_loop().run_in_executor(None, _checkpoint, engine)
        except RuntimeError:  # the executor is shut down (the process is stopping): the write
            return True  # stands; the loop stays off until a thread's write, as after one
        _CHECKPOINTS.add(checkpointing)
        checkpointing.add_done_callback(_CHECKPOINTS.discard)
    return True


_CHECKPOINTS: set[asyncio.Future[None]] = set()


def _recorded_again(client: Client, workflow_ids: set[str]) -> None:
    """Turns the database may have lost (store/loop_statements.py): their workflows record."""
    for workflow_id in workflow_ids:
        report_missed_write(client, workflow_id)


def _open_for_loop(engine: Engine) -> None:
    """The loop's SQLite connection, opened from a thread's write (store/loop_writes.py)."""
    try:
        loop_writes.open_for_loop(engine)
    except Exception as exc:  # noqa: BLE001 - the writes go on in threads, as before
        log.warning("no SQLite connection for the event loop's writes: %s", exc)


def _checkpoint(engine: Engine) -> None:
    try:
        loop_writes.checkpoint(engine)
    except SQLAlchemyError as exc:  # the next one, CHECKPOINT_EVERY writes on, tries again
        log.warning("WAL checkpoint after the loop's writes failed: %s", exc)


_REPORTING: set[asyncio.Task[None]] = set()
"""The `log_behind` Signals on their way (asyncio keeps only weak references to tasks)."""


async def reported(timeout: float) -> None:
    """Wait (at most `timeout` seconds) for the `log_behind` Signals on their way: the app's
    shutdown, after its last flush barrier may have reported turns."""
    if _REPORTING:
        await asyncio.wait(set(_REPORTING), timeout=timeout)


class WritesBehindCollector(Collector):
    """`transbordo_log_writes_behind_total`: the writes ahead this process could not make, or
    that PostgreSQL may have lost (committed, not yet flushed, when the connection failed),
    each reported to its workflow (ops: a failing database, requests dying mid-Update)."""

    missed = 0  # per process, as every figure of an API process's /metrics

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "transbordo_log_writes_behind",
            "Writes ahead this API process could not make (the workflow was told to record).",
            value=WritesBehindCollector.missed,
        )


def report_missed_write(client: Client, workflow_id: str) -> None:
    """Tell the workflow (`log_behind`) in the background: the Signal must not wait on, or
    die with, the request that could not write."""
    WritesBehindCollector.missed += 1
    task = asyncio.get_running_loop().create_task(_tell_behind(client, workflow_id))
    _REPORTING.add(task)
    task.add_done_callback(_REPORTING.discard)


async def _tell_behind(client: Client, workflow_id: str) -> None:
    try:
        await client.get_workflow_handle(workflow_id).signal(ConversationWorkflow.log_behind)
    except RPCError as exc:  # closed, or Temporal unreachable: the run's end records them
        log.warning("could not tell %s its log is behind: %s", workflow_id, exc.message)
