"""The estimated wait and when to tell it, on their own (omni/wait_estimate.py): table tests."""

from __future__ import annotations

import pytest

from omni.wait_estimate import (
    Notice,
    Told,
    WaitHistory,
    estimate_seconds,
    handle_time,
    honest_figure,
    worth_telling,
)


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


@pytest.mark.parametrize(
    ("last", "new", "told", "expected"),
    [
        (None, Notice(1, 0), None, 0),  # nothing read yet in this queue: the model's figure
        (Notice(3, 600), Notice(3, 600), Told(600, 120.0), 480),  # the same look: counts down
        (Notice(3, 600), Notice(3, 300), Told(600, 120.0), 300),  # a shorter one: as it is
        (Notice(3, 600), Notice(2, 540), Told(600, 120.0), 480),  # a better place: no higher
        (Notice(3, 600), Notice(2, 300), Told(600, 120.0), 300),  # … and shorter: as it is
        (Notice(3, 600), Notice(3, 660), Told(600, 120.0), 660),  # grown by `change`: afresh
        (Notice(3, 600), Notice(3, 659), Told(600, 120.0), 480),  # less: still counts down
        (Notice(1, 0), Notice(1, 0), Told(0, 120.0), None),  # "menos de 1 minuto", 2 min on
        (Notice(1, 45), Notice(1, 30), Told(45, 60.0), None),  # nor a shorter figure
        (Notice(2, 600), Notice(1, 60), Told(600, 600.0), None),  # waited out: not even afresh
        (Notice(1, 60), Notice(1, 900), Told(60, 240.0), None),  # nor a longer guess
        (Notice(1, 570), Notice(1, 570), Told(90, 88.5), 1),  # what is left, rounded down
        (Notice(1, 570), Notice(1, 570), Told(90, 89.5), None),  # under a second: waited out
    ],
)
def test_a_figure_counts_down_and_is_never_told_again_once_waited_out(
    last: Notice | None, new: Notice, told: Told | None, expected: int | None
) -> None:
    assert honest_figure(last, new, told, change=60) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (0, [0] + [None] * 10),  # a free agent who never picks up
        (570, [570, 450, 330, 210, 90] + [None] * 6),  # the only agent paused: 570 s target
    ],
)
def test_a_look_every_two_minutes_that_never_moves(model: int, expected: list[int | None]) -> None:
    """The model says the same at every look; the customer reads the first figure counting
    down, then no figure (the newest figure read is still the broken one)."""
    sent: list[tuple[int, int | None]] = []  # (seconds into the wait, figure) of each notice
    for at in range(0, 1320, 120):
        read = [Told(figure, at - then) for then, figure in sent if figure is not None]
        last = Notice(1, model) if sent else None
        sent.append(
            (at, honest_figure(last, Notice(1, model), read[-1] if read else None, change=60))
        )
    assert [figure for _, figure in sent] == expected
