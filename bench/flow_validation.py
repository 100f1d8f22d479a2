"""Bench: how long validating a bot takes as it grows (chains of 1k/2k/5k blocks).

Run: ``python bench/flow_validation.py``. Prints one line per size; the figures go to
bench/README.md. Not a test: timing depends on the machine.
"""

from __future__ import annotations

import time
import tracemalloc

from bots.limits import FlowLimits
from bots.loader import flow_issues

SIZES = (1_000, 2_000, 5_000)


def chain(n: int, *, loop: bool) -> str:
    """``n`` wait-less blocks in a row; the last one goes back to the first when ``loop``."""
    lines = ["bot: bench", "start: b0", "blocks:"]
    block = "  b{0}: {{type: message, text: 'Oi {{{{ x }}}}', next: b{1}}}"
    lines += [block.format(i, i + 1) for i in range(n)]
    last = "{type: message, text: fim, next: b0}" if loop else "{type: end}"
    lines.append(f"  b{n}: {last}")
    return "\n".join(lines) + "\n"


def measure(source: str, limits: FlowLimits) -> tuple[float, float, int]:
    """Best of three wall times; the peak memory of one more run (traced apart: it is slow)."""
    times = []
    for _ in range(3):
        began = time.perf_counter()
        issues = flow_issues(source, "bench.yaml", env={}, limits=limits)
        times.append(time.perf_counter() - began)
    tracemalloc.start()
    flow_issues(source, "bench.yaml", env={}, limits=limits)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), peak / 2**20, len(issues)


def main() -> None:
    limits = FlowLimits(max_blocks=10_000, max_bytes=4 * 2**20)
    for n in SIZES:
        for loop in (False, True):
            source = chain(n, loop=loop)
            measure(source, limits)  # warm the template cache and imports
            elapsed, peak, issues = measure(source, limits)
            kind = "one loop " if loop else "a chain  "
            print(
                f"{n:>5} blocks, {kind} {len(source) / 1024:6.0f} KiB: {elapsed:6.3f} s,"
                f" peak {peak:6.1f} MiB, {issues} issue(s)"
            )


if __name__ == "__main__":
    main()
