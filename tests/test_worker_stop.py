"""A worker asked to stop shuts down cleanly, whatever signal dispositions it inherited.

`transbordo up` stops its children with SIGINT, Kubernetes and compose send SIGTERM. A process
started in the background (`nohup … &`, a job of a non-interactive shell) inherits SIGINT
*ignored*: the worker used to keep running until `up` killed it 15 s later, leaving its tasks
to time out on the server (bench/README.md, sixth pass).
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

from tests.conftest import dev_env  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 60
"""Generous: a deadline for a hung worker to fail the test, not a timing assertion."""


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no {text!r} in the worker's log:\n{path.read_text(errors='replace')}")
        time.sleep(0.1)


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
        worker = subprocess.Popen(  # noqa: S603
            # SIGINT ignored, as a background job of a shell has it (exec keeps it ignored)
            ["sh", "-c", f"trap '' INT; exec {shlex.quote(sys.executable)} -m transbordo worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            await _polling(dev_env.client, task_queue, worker)
            worker.send_signal(stop)
            _wait_for(log, "Beginning worker shutdown", worker)  # the SDK's clean shutdown
            worker.send_signal(stop)  # a second one (`up` sends it after a Ctrl-C) is no harm
            code = await asyncio.to_thread(worker.wait, DEADLINE_SECONDS)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    said = log.read_text(errors="replace")
    assert code == 0, said
    assert said.rstrip().endswith("worker stopped"), said
