"""The estimated wait and when to tell it, on their own (omni/wait_estimate.py): table tests."""

from __future__ import annotations

import pytest

from omni.wait_estimate import Notice, WaitHistory, estimate_seconds, handle_time, worth_telling


def history(**fields: object) -> WaitHistory:
    base: dict[str, object] = {
        "handle_seconds": [300.0, 240.0, 360.0],
        "pickup_seconds": [],
        "agents": 2,
        "free_slots": 0,
        "target_seconds": 60,
    }
    return WaitHistory(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "position", "expected"),
    [
        ({}, 1, 150),  # one slot frees every 300/2 s
        ({}, 4, 600),
        ({"agents": 1}, 2, 600),
        ({"free_slots": 1}, 1, 0),  # a free agent: only the pickup delay
        ({"free_slots": 1, "pickup_seconds": [10.0, 20.0, 30.0]}, 1, 20),
        ({"free_slots": 1}, 3, 300),  # two ahead of the free slot
        ({"handle_seconds": [1000.0, 10.0]}, 2, 60),  # short history: the target stands in
        ({"agents": 0}, 1, None),  # nobody available: unknown
        ({}, 0, None),
    ],
)
def test_estimate_seconds(fields: dict[str, object], position: int, expected: int | None) -> None:
    assert estimate_seconds(history(**fields), position) == expected


def test_handle_time_is_the_median_of_a_long_enough_history() -> None:
    assert handle_time(history(handle_seconds=[10.0, 20.0, 1000.0])) == 20.0
    assert handle_time(history(handle_seconds=[])) == 60.0


@pytest.mark.parametrize(
    ("last", "new", "checks", "expected"),
    [
        (None, Notice(3, 300), 1, True),  # the first one
        (Notice(3, 300), Notice(2, 300), 1, True),  # the position improved
        (Notice(3, 300), Notice(3, 359), 1, False),  # a small move
        (Notice(3, 300), Notice(3, 360), 1, True),  # moved by the threshold
        (Notice(3, 300), Notice(3, 240), 1, True),  # down by the threshold
        (Notice(3, 300), Notice(4, 300), 1, False),  # worse by a place, same estimate
        (Notice(3, 300), Notice(3, 300), 5, True),  # the sign of life
    ],
)
def test_worth_telling(last: Notice | None, new: Notice, checks: int, expected: bool) -> None:
    assert worth_telling(last, new, change=60, checks=checks, repeat=5) is expected
