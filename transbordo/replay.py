"""`transbordo replay`: replay conversation histories against this code before it ships.

A deploy that changes what ConversationWorkflow does on replay (a new activity, timer or branch
without `workflow.patched`) breaks the conversations already running. This command replays
histories — exported files (`temporal workflow show --output json`, tests/histories/*.json) or the
running and recent conversations of a Temporal namespace — with the worker's own sandbox and data
converter, and prints one line per history: ok, or the non-determinism error.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from encryption.codec import KEY_FILE, KeyRing, encrypted_converter
from transbordo.keyring import key_ring
from transbordo.settings import Settings

WORKFLOW_TYPE = "ConversationWorkflow"
DEFAULT_LIMIT = 100
DEFAULT_HOURS = 24.0


@dataclass(frozen=True)
class Replayed:
    """One history's result: `error` is None when it replayed cleanly."""

    label: str
    events: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        if self.error is None:
            return f"ok    {self.label} ({self.events} events)"
        return f"FAIL  {self.label} ({self.events} events): {self.error}"


@dataclass(frozen=True)
class Labelled:
    label: str
    history: WorkflowHistory


def load_file(path: Path) -> Labelled:
    """An exported history; its path stands in for the workflow id the file does not carry."""
    history = WorkflowHistory.from_json(str(path), path.read_text(encoding="utf-8"))
    return Labelled(str(path), history)


async def from_files(paths: Iterable[Path]) -> AsyncIterator[Labelled]:
    for path in paths:
        yield load_file(path)


def conversation_query(query: str | None, hours: float, now: datetime | None = None) -> str:
    """Conversations running now or closed in the last `hours`, narrowed by `query`."""
    since = (now or datetime.now(UTC)) - timedelta(hours=hours)
    recent = f'(ExecutionStatus = "Running" OR CloseTime > "{since.isoformat()}")'
    parts = [f'WorkflowType = "{WORKFLOW_TYPE}"', recent]
    if query:
        parts.append(f"({query})")
    return " AND ".join(parts)


async def from_temporal(
    client: Client, query: str | None, limit: int, hours: float = DEFAULT_HOURS
) -> AsyncIterator[Labelled]:
    """The histories of the conversations `query` selects (newest first, at most `limit`)."""
    async for execution in client.list_workflows(conversation_query(query, hours), limit=limit):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        yield Labelled(f"{execution.id} run {execution.run_id}", history)


def files_converter(settings: Settings) -> DataConverter:
    """The converter for exported files: the configured ring, or the data folder's; with
    neither, files can only be clear ones, and a throwaway ring reads them (no key file is
    created by a replay)."""
    configured = settings.encryption_keys is not None
    if configured or (settings.data_dir / KEY_FILE).exists():
        return encrypted_converter(key_ring(settings))
    return encrypted_converter(KeyRing.generate())


async def replay(
    histories: AsyncIterator[Labelled],
    workflows: Sequence[type] | None = None,
    converter: DataConverter | None = None,
) -> AsyncIterator[Replayed]:
    """Replay each history with the worker's sandbox and `converter` (the one that encrypted
    it); `workflows` defaults to [ConversationWorkflow] (tests pass a changed class
    registered under the same name)."""
    from workflows.conversation import ConversationWorkflow
    from workflows.sandbox import workflow_runner

    replayer = Replayer(
        workflows=list(workflows or [ConversationWorkflow]),
        workflow_runner=workflow_runner(),
        data_converter=converter or encrypted_converter(KeyRing.generate()),
    )
    labels: dict[tuple[str, str], Labelled] = {}

    async def unlabelled() -> AsyncIterator[WorkflowHistory]:
        async for item in histories:
            labels[(item.history.workflow_id, item.history.run_id)] = item
            yield item.history

    async with replayer.workflow_replay_iterator(unlabelled()) as results:
        async for result in results:
            history = result.history
            item = labels.pop((history.workflow_id, history.run_id))
            failure = result.replay_failure
            error = None if failure is None else f"{type(failure).__name__}: {failure}"
            yield Replayed(item.label, len(history.events), error)


async def run(
    settings: Settings,
    files: list[Path],
    query: str | None = None,
    limit: int = DEFAULT_LIMIT,
    hours: float = DEFAULT_HOURS,
    *,
    client: Client | None = None,
    workflows: Sequence[type] | None = None,
    echo: Callable[[str], object] = print,
) -> int:
    """Replay and report; the exit code is 1 when any history fails (or cannot be read)."""
    if files:
        missing = [p for p in files if not p.is_file()]
        if missing:
            echo(f"no such file: {missing[0]}")
            return 1
        source = from_files(files)
        converter = files_converter(settings)
    else:
        if client is None:
            from transbordo.temporal import connect

            client = await connect(settings)
        source = from_temporal(client, query, limit, hours)
        converter = client.data_converter
    count = failed = 0
    async for result in replay(source, workflows, converter):
        echo(result.line())
        count += 1
        failed += not result.ok
    if count == 0:
        echo("no histories to replay")
    else:
        echo(f"{count - failed} ok, {failed} failed")
    return 1 if failed else 0


def main(
    settings: Settings,
    files: list[Path],
    query: str | None,
    limit: int = DEFAULT_LIMIT,
    hours: float = DEFAULT_HOURS,
) -> int:
    """The CLI's entry."""
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    try:
        code = asyncio.run(run(settings, files, query, limit, hours))
    except Exception as exc:  # noqa: BLE001 - a connection or query problem, told plainly
        print(f"replay: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 2
    sys.stdout.flush()
    return code
