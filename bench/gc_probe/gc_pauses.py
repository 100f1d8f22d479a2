"""Pauses of CPython's cyclic garbage collector, per process (bench/overload.py `--gc-probe`).

A full collection walks every tracked object and stops the whole process (its event loop
included) while it runs: under load it is what makes a worker's or an API's tail. `install`
logs each of this process's collections of the oldest generation (and any other over 5 ms) to
`<folder>/<pid>.log`: epoch at its end, generation, wall ms, CPU ms of the collecting thread
(wall minus CPU: the time the process was not running, on busy cores), objects collected.
sitecustomize.py beside this file installs it in every Python process started with this folder
on PYTHONPATH and TRANSBORDO_GC_PROBE=<folder> (the worker); `summary` reads the logs back.
(bench/probe/ has a sitecustomize too: the two probes do not run together.) Not a test.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

WORTH_LOGGING_MS = 5.0


def install(folder: str | Path) -> None:
    out = open(Path(folder) / f"{os.getpid()}.log", "a", buffering=1)  # noqa: SIM115 (for life)
    out.write(f"# {Path(sys.argv[0]).name if sys.argv and sys.argv[0] else 'python'}\n")
    started = [0.0, 0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = time.perf_counter(), time.thread_time()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        cpu_ms = (time.thread_time() - started[1]) * 1000
        if info["generation"] == 2 or ms > WORTH_LOGGING_MS:
            gen, collected = info["generation"], info["collected"]
            out.write(f"{time.time():.3f} {gen} {ms:.1f} {cpu_ms:.1f} {collected}\n")

    gc.callbacks.append(timed)


def summary(folder: str | Path, window: tuple[float, float] | None = None) -> list[str]:
    """A line per process: its full collections (count, p50 and max wall ms, p50 CPU ms,
    collected p50) and the pauses over 5 ms of any generation that ended inside `window`
    (epoch seconds)."""
    lines = []
    for log in sorted(Path(folder).glob("*.log")):
        rows = [line.split() for line in log.read_text().splitlines()]
        name = rows[0][1] if rows and rows[0][:1] == ["#"] and len(rows[0]) > 1 else log.stem
        pauses = [  # a last line cut short (a killed process) is left out
            (float(r[0]), int(r[1]), float(r[2]), float(r[3]), int(r[4]))
            for r in rows
            if len(r) == 5 and r[0] != "#"
        ]
        full = [p for p in pauses if p[1] == 2]
        if not full:
            continue
        ms = [p[2] for p in full]
        inside = [
            p
            for p in pauses
            if window and window[0] <= p[0] <= window[1] and p[2] > WORTH_LOGGING_MS
        ]
        lines.append(
            f"{name:<14} full collections {len(full):3d}: p50 {statistics.median(ms):6.1f} ms,"
            f" max {max(ms):6.1f} ms (CPU p50 {statistics.median(p[3] for p in full):6.1f}),"
            f" collected p50 {statistics.median(p[4] for p in full):7.0f}"
            + (
                f"; during `next`: {len(inside)} pauses > {WORTH_LOGGING_MS:.0f} ms,"
                f" {sum(p[2] for p in inside):.0f} ms in all"
                if window
                else ""
            )
        )
    return lines
