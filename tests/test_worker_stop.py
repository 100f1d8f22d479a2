"""A worker asked to stop shuts down cleanly, whatever signal dispositions it inherited.

`transbordo up` stops its children with SIGINT, Kubernetes and compose send SIGTERM. A process
started in the background (`nohup … &`, a job of a non-interactive shell) inherits SIGINT
*ignored*: the worker used to keep running until `up` killed it 15 s later, leaving its tasks
to time out on the server (bench/README.md, sixth pass).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import dev_env  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_SECONDS = 60
"""Generous: a deadline for a hung worker to fail the test, not a timing assertion."""


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job of a shell has it


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no {text!r} in the worker's log:\n{path.read_text(errors='replace')}")
        time.sleep(0.1)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_worker_stops_cleanly_when_asked(
    stop: signal.Signals,
    dev_env,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TRANSBORDO_DATA_DIR": str(tmp_path),
        "TRANSBORDO_TASK_QUEUE": f"stop-{stop.name}-{os.getpid()}",
    }
    env.pop("DATABASE_URL", None)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "transbordo", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_sigint,  # noqa: PLW1509 (single-threaded here)
        )
        try:
            _wait_for(log, "worker polling task queue", worker)
            worker.send_signal(stop)
            code = worker.wait(timeout=DEADLINE_SECONDS)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert code == 0, log.read_text(errors="replace")
    assert "worker stopped" in log.read_text(errors="replace")
