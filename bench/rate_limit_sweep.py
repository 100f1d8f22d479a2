"""Benchmark: CPU of the one request that runs `LocalWindows`' periodic sweep with 100,000
contact keys, all idle or all live (api/rate_limits.py). Not a test.

    python bench/rate_limit_sweep.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from limits import parse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.rate_limits import LocalWindows  # noqa: E402


def sweep_cost(hit_at: float, sweep_at: float, keys: int = 100_000) -> tuple[float, int]:
    """Milliseconds of CPU of the request that sweeps, and the keys left after it."""
    now = [0.0]
    windows = LocalWindows(clock=lambda: now[0])  # the last sweep: at 0
    item = parse("30/minute")
    now[0] = hit_at
    for i in range(keys):
        windows.wait("messages per contact", item, f"c{i}", count=True)
    now[0] = sweep_at
    began = time.process_time()
    windows.wait("messages per contact", item, "x", count=False)
    return (time.process_time() - began) * 1e3, len(windows)


def main() -> None:
    for case, hit_at, sweep_at in (("idle", 0.0, 120.0), ("live", 30.0, 60.0)):
        ms, left = sweep_cost(hit_at, sweep_at)
        print(f"100000 keys {case}: {ms:.2f} ms CPU for the request that sweeps ({left} left)")


if __name__ == "__main__":
    main()
