"""The periodic wait notices stay true (omni/wait_estimate.honest_figure, workflows/care.py), end
to end on the time-skipping server: a customer who has waited out the figure they were told
never reads it (or a shorter one) again; they read their place in line and that the wait is
longer than foreseen. Until then, a figure the model keeps repeating counts down.

Found by a QA pass: with one agent available who does not pick up, the customer read "menos de
1 minuto" on queueing and again at 2 and 4 minutes; with the only agent paused, "cerca de 1
minuto" after 4 minutes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import conversation_handle, conversation_wid, running_stack
from tests.test_care import flow, transcript
from tests.test_handoff import Omni, publish, say, setup_omni
from workflows.care import LONGER_THAN_FORESEEN

pytestmark = pytest.mark.asyncio

CARE = {"wait_notice_interval_seconds": 60, "wait_notice_repeat": 2}
"""A look a minute, a notice every second look when nothing moves (the QA pass's settings)."""
LATE = f"Você é o 1º da fila. {LONGER_THAN_FORESEEN}"


async def set_status(http: httpx.AsyncClient, omni: Omni, name: str, status: str) -> None:
    changed = await http.post(
        "/api/agent/status", json={"status": status}, headers=omni.agent(name)
    )
    assert changed.status_code == 200, changed.text


async def notices_until_abandoned(
    http: httpx.AsyncClient, time_env: Any, contact: str
) -> list[tuple[float, str, dict[str, Any]]]:
    """Queue `contact`, let nobody pick up until the customer is abandoned: every wait notice
    as (seconds after the first, text, data)."""
    await say(http, contact, f"{contact}-1", "oi")
    turn = await say(http, contact, f"{contact}-2", "1")
    assert turn["status"] == "waiting", turn
    handle = conversation_handle(time_env, conversation_wid("loja", contact))
    async with time_env.time_skipping_unlocked():
        assert (await handle.result()).status == "ended"
    said = await transcript(http, turn["conversation_id"])
    notices = [m for m in said if m["kind"] == "wait_time_notice"]
    first = datetime.fromisoformat(notices[0]["at"])
    return [
        ((datetime.fromisoformat(m["at"]) - first).total_seconds(), m["text"], m["data"])
        for m in notices
    ]


async def test_an_agent_who_does_not_pick_up_is_not_promised_again(time_env, settings, engine):
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, care=CARE, abandon_seconds=300)
        await publish(http, flow(omni.key, "periodic"))
        await set_status(http, omni, "Beto", "offline")  # Ana alone, free, never picks up
        notices = await notices_until_abandoned(http, time_env, "livre")
    assert notices[0][1:] == (
        "Tempo estimado de espera: menos de 1 minuto.",
        {"estimated_wait_seconds": 0, "position": 1},
    )
    later = notices[1:]
    assert [round(at) for at, _, _ in later] == [120, 240]  # a sign of life every second look
    assert [(text, data) for _, text, data in later] == [
        (LATE, {"estimated_wait_seconds": None, "position": 1})
    ] * 2


async def test_a_figure_holds_until_waited_out_then_the_wait_is_longer_than_foreseen(
    time_env, settings, engine
):
    """Ana paused, Beto offline: the former figure (no customer answered yet: the answer-time
    target, 590 s) is the same at every look; the customer reads it counting down, then that the
    wait is longer than foreseen, never the figure again."""
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http, care=CARE, abandon_seconds=900, answer_time_seconds=590)
        await publish(http, flow(omni.key, "periodic"))
        await set_status(http, omni, "Beto", "offline")
        await set_status(http, omni, "Ana", "paused")
        notices = await notices_until_abandoned(http, time_env, "pausa")
    assert notices[0][1] == "Tempo estimado de espera: cerca de 10 minutos."
    left = "Você é o 1º da fila. Tempo estimado de espera: cerca de {} minutos."
    assert [(round(at), text) for at, text, _ in notices[1:]] == [
        (120, left.format(8)),
        (240, left.format(6)),
        (360, left.format(4)),
        (480, left.format(2)),
        (600, LATE),  # 590 s waited out: no figure from here on
        (720, LATE),
        (840, LATE),
    ]
    told = [data["estimated_wait_seconds"] for _, _, data in notices]
    assert told[5:] == [None] * 3
    expected = [590, 470, 350, 230, 110]  # what is left of the 590 s (the looks' own time aside)
    assert all(abs(a - b) < 5 for a, b in zip(told[:5], expected, strict=True)), told
