"""The garbage collector of the long-running processes (the worker, the API), set after start-up.

Measured on the worker queueing 1,000 customers (bench/README.md, "fourth pass: the collector"):
with CPython's defaults it spent ~2.5 s of CPU in the cyclic collector, each full collection
180-300 ms of CPU with the whole process stopped — it walks every tracked object, the ~130,000
that importing the SDK, pydantic's schemas, SQLAlchemy and FastAPI made included, and those never
die. `gc.freeze()` moves what start-up made to the permanent generation, where no collection
looks again; a larger first threshold lets short-lived objects (an activation's, a request's)
die young instead of being promoted by a collection that happens to catch them alive, so full
collections come rarer. Cyclic garbage (an evicted workflow's tasks and futures) is still found:
the full collections run, just less often and over fewer objects.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5_000
"""Allocations between two young collections (CPython's default: 700)."""


def settle_after_startup() -> None:
    """Collect start-up's garbage, freeze what is left, raise the young threshold. Once per
    process, after imports and set-up, before it serves (not in tests, whose stacks come and
    go in one process: what a freeze keeps is never collected)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
