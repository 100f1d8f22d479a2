"""A worker asked to stop shuts down cleanly, whatever signal dispositions it inherited.

Kubernetes and compose send SIGTERM: `transbordo worker`'s shutdown used to hang on it (its
handler raised KeyboardInterrupt wherever the main thread was) until the grace period ended.
A process started as a `&` job of a shell script inherits SIGINT *ignored*: such a worker
ignored Ctrl-C-style stops altogether (bench/README.md, sixth pass).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

import worker
from tests.conftest import dev_env  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 60
"""Generous: a deadline for a hung worker to fail the test, not a timing assertion."""


async def _polling(client: Client, task_queue: str, process: subprocess.Popen[bytes]) -> None:
    """Until the worker polls `task_queue`: its SDK worker is running, past its start-up."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (await client.workflow_service.describe_task_queue(request)).pollers:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the worker never polled {task_queue}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_the_worker_stops_cleanly_when_asked(
    stop: signal.Signals,
    dev_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TRANSBORDO_DATA_DIR": str(tmp_path),
        "TRANSBORDO_TASK_QUEUE": (task_queue := f"stop-{stop.name}-{os.getpid()}"),
    }
    env.pop("DATABASE_URL", None)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            # SIGINT ignored, as a background job of a shell has it (exec keeps it ignored)
            ["sh", "-c", f"trap '' INT; exec {shlex.quote(sys.executable)} -m transbordo worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            await _polling(dev_env.client, task_queue, process)
            process.send_signal(stop)
            code = await asyncio.to_thread(process.wait, DEADLINE_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    said = log.read_text(errors="replace")
    assert code == 0, said
    assert "Beginning worker shutdown" in said and "worker stopped" in said, said
    assert "Traceback" not in said, said


async def test_a_second_signal_does_not_cut_the_shutdown_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first signal cancels the worker's main task; a second one (`up` sends one after a
    terminal's Ctrl-C already reached the worker) is logged, not a second cancel, which would
    cut the SDK's shutdown short."""
    caplog.set_level("INFO", logger="worker")
    cancels = 0
    shutting_down = asyncio.Event()
    second_seen = asyncio.Event()

    async def worker_main() -> None:
        nonlocal cancels
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancels += 1
        shutting_down.set()
        try:
            await second_seen.wait()  # the SDK's shutdown, still under way
        except asyncio.CancelledError:
            cancels += 1

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(worker_main())
    worker.stop_when_asked(task)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await shutting_down.wait()
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while "already stopping" not in caplog.text and not task.done():
            if time.monotonic() > deadline:
                pytest.fail(f"the second signal was not logged: {caplog.text}")
            await asyncio.sleep(0.01)
        second_seen.set()
        await task
    finally:
        for stop in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(stop)
    assert cancels == 1
    assert "SIGTERM: stopping" in caplog.text and "SIGINT: already stopping" in caplog.text
