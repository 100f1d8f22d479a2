"""The worker's loop (transbordo/eventloop.py): uvloop where it is installed (a dependency on
Linux and macOS), asyncio's own where it is not (Windows)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from transbordo import eventloop


async def _loop_kind() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_the_worker_runs_on_uvloop_where_installed() -> None:
    assert eventloop.run(_loop_kind()).startswith("uvloop")


def test_without_uvloop_it_runs_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: the import fails
    assert eventloop.run(_loop_kind()).startswith("asyncio")
