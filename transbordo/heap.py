"""The garbage collector of the long-running processes (the worker, the API), set after start-up.

Measured on the worker queueing 1,000 customers (bench/README.md, "fourth pass: the collector"):
with CPython's defaults it spent ~2.5 s of CPU in the cyclic collector, each full collection
180-300 ms of CPU with the whole process stopped — it walks every tracked object, the ~130,000
that importing the SDK, pydantic's schemas, SQLAlchemy and FastAPI made included, and those never
die. `gc.freeze()` moves what start-up made to the permanent generation, where no collection
looks again. The thresholds stay CPython's: a larger young threshold (5,000) saved another ~10 %
of the worker's CPU but let cyclic garbage (evicted workflows' tasks and futures) pile up
between full collections — worker RSS 340 MiB at 3,000 waiting instead of a flat ~205 MiB.
"""

from __future__ import annotations

import gc


def settle_after_startup() -> None:
    """Collect start-up's garbage and freeze what is left. Once per process, after imports and
    set-up, before it serves (not in tests, whose stacks come and go in one process: what a
    freeze keeps is never collected)."""
    gc.collect()
    gc.freeze()
