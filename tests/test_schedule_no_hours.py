"""A bot with no business hours stays open when it gets holidays or its hours form is saved.

Before, a holiday added on the Atendimento Humano page (or a save of its hours form) wrote
`hours: {}` into a bot that had no `schedule`: from then on every customer got the closed message,
any day. Now a schedule without `hours` means "open all day, every day, but holidays" (and the
emergency closure); `hours: {}` written by hand keeps its meaning (never open), and publishing it
while a Humano block checks hours says so (`never_open`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from bots.loader import FlowError, load_flow
from bots.schedule import Schedule, is_open, load_zone, never_open, next_opening
from tests.conftest import admin_headers, running_stack
from tests.test_bot_settings import patch, publish, source_of
from tests.test_starter_closed import BOT, YAML, publish_starter, say, texts, web_chat

CLOSED = "No momento não temos atendimento humano. Voltamos "
"""The starter flow's `fora_do_horario` text, before its `{{ next_opening }}`."""
HANDED_OVER = "Vou te transferir para um especialista."
HOURS = "\n  hours:"
"""The `hours` key of a `schedule` (not `check_hours`)."""

NEVER_OPEN = """\
bot: fechado
human_service: {platform: omni_v2, omni_key: "tbk_x"}
schedule:
  timezone: America/Sao_Paulo
  hours: {}
start: humano
blocks:
  humano:
    type: human
    on: {closed: fim, finished: fim}
  fim: {type: end, text: Fechado.}
"""


def said_of_hours(answer: httpx.Response) -> list[str]:
    """The publishing warnings about the schedule's hours (the test's key is no live one)."""
    return [w for w in answer.json()["warnings"] if "schedule.hours" in w]


async def hand_over(http: httpx.AsyncClient) -> dict:
    """A new web chat customer asks for a person (the starter menu's "1")."""
    session = await web_chat(http)
    await say(http, session, "1", "oi")
    return await say(http, session, "2", "1")


@pytest.mark.asyncio
async def test_a_holiday_on_a_bot_without_hours_closes_that_day_only(
    time_env, settings, engine, monkeypatch
):
    async with running_stack(time_env, settings, engine) as http:
        await publish_starter(http, monkeypatch)  # no schedule: open at any hour
        today = (await time_env.get_current_time()).astimezone(load_zone("America/Sao_Paulo"))
        far = (today + timedelta(days=150)).date()
        added = await http.patch(
            f"/api/bots/{BOT}/settings",
            json={"schedule": {"holidays": [{"date": far.isoformat(), "name": "Natal"}]}},
            headers=admin_headers(),
        )
        assert added.status_code == 201, added.text
        assert added.json()["warnings"] == []
        source = (await http.get(f"/api/bots/{BOT}/source", headers=admin_headers())).text
        assert HOURS not in source
        settings_now = (await http.get(f"/api/bots/{BOT}/settings", headers=admin_headers())).json()
        assert settings_now["schedule"]["hours"] is None

        normal_day = await hand_over(http)  # any other day: still handed over
        assert texts(normal_day) == [HANDED_OVER]
        assert normal_day["status"] == "waiting"

        # the holiday is today (a range around it: the test's clock and the workflow's
        # agree on the day even at midnight)
        around = f"{today.date() - timedelta(days=1)}..{today.date() + timedelta(days=1)}"
        moved = await http.patch(
            f"/api/bots/{BOT}/settings",
            json={"schedule": {"holidays": [{"date": around, "name": "Natal"}]}},
            headers=admin_headers(),
        )
        assert moved.status_code == 201, moved.text
        holiday = await hand_over(http)
        [said] = texts(holiday)
        assert said.startswith(CLOSED) and said.endswith(" às 00:00.")  # after the range
        assert holiday["status"] == "ended"


@pytest.mark.asyncio
async def test_the_emergency_switch_on_and_off_leaves_a_bot_without_hours_open(admin_api):
    await publish(admin_api, "fechado", NEVER_OPEN.replace("  hours: {}\n", ""))
    for closed in (True, False):
        answer = await patch(admin_api, "fechado", {"schedule": {"emergency_closed": closed}})
        assert answer.status_code == 201, answer.text
        assert said_of_hours(answer) == []
    source = await source_of(admin_api, "fechado")
    assert HOURS not in source and "emergency_closed" not in source
    # the hours form saved untouched on a bot with no schedule adds none
    untouched = {"timezone": "America/Sao_Paulo", "emergency_closed": False}
    bare = NEVER_OPEN.replace("bot: fechado", "bot: livre")
    bare = bare[: bare.index("schedule:")] + bare[bare.index("start:") :]
    await publish(admin_api, "livre", bare)
    saved = await patch(admin_api, "livre", {"schedule": untouched})
    assert saved.status_code == 200 and saved.json()["version"] == 1, saved.text  # no new one
    assert "schedule" not in await source_of(admin_api, "livre")


@pytest.mark.asyncio
async def test_hours_null_removes_the_hours_and_holidays_stay(admin_api):
    with_holiday = NEVER_OPEN.replace(
        "  hours: {}\n", '  hours: {mon-fri: ["08:00-18:00"]}\n  holidays: [{date: "12-25"}]\n'
    )
    await publish(admin_api, "fechado", with_holiday)
    answer = await patch(admin_api, "fechado", {"schedule": {"hours": None}})
    assert answer.status_code == 201, answer.text
    assert HOURS not in await source_of(admin_api, "fechado")
    now = (await admin_api.get("/api/bots/fechado/settings", headers=admin_headers())).json()
    assert now["schedule"]["hours"] is None
    assert now["schedule"]["holidays"] == [{"date": "12-25", "name": ""}]


@pytest.mark.asyncio
async def test_publishing_hours_that_never_open_warns(admin_api):
    answer = await admin_api.put("/api/bots/fechado", content=NEVER_OPEN.encode(), headers=YAML)
    assert answer.status_code == 201, answer.text
    [warning] = said_of_hours(answer)
    assert warning.startswith("fechado.yaml:5:3: schedule.hours: opens on no day")
    # every day listed but none with a window is the same
    empty_days = NEVER_OPEN.replace("hours: {}", "hours: {mon-sun: []}")
    again = await admin_api.put("/api/bots/fechado", content=empty_days.encode(), headers=YAML)
    assert [w[:40] for w in said_of_hours(again)] == [warning[:40]]
    # the hours form saved with every day unchecked writes `hours: {}`: said there too
    await publish(admin_api, "fechado", NEVER_OPEN.replace("  hours: {}\n", ""))
    saved = await patch(admin_api, "fechado", {"schedule": {"hours": {}}})
    assert saved.status_code == 201, saved.text
    assert [w[:40] for w in said_of_hours(saved)] == [warning[:40]]
    # one window, no Humano block checking hours, or no `hours`: nothing to say
    fixes = [
        NEVER_OPEN.replace("hours: {}", 'hours: {sat: ["09:00-10:00"]}'),
        NEVER_OPEN.replace("type: human", "type: human\n    check_hours: false"),
        NEVER_OPEN.replace("  hours: {}\n", ""),
    ]
    for fixed in fixes:
        published = await admin_api.put("/api/bots/fechado", content=fixed.encode(), headers=YAML)
        assert published.status_code in (200, 201), published.text
        assert said_of_hours(published) == []


def test_no_hours_is_open_all_day_and_old_empty_hours_stay_closed() -> None:
    christmas = Schedule.model_validate({"holidays": [{"date": "12-25", "name": "Natal"}]})
    old = Schedule.model_validate({"hours": {}, "holidays": [{"date": "12-25"}]})  # `hours: {}`
    eve = datetime(2026, 12, 24, tzinfo=load_zone("America/Sao_Paulo"))
    for minute in range(0, 24 * 60, 7):
        instant = eve + timedelta(minutes=minute)
        assert is_open(christmas, instant)
        assert not is_open(christmas, instant + timedelta(days=1))  # the holiday
        assert is_open(christmas, instant + timedelta(days=2))
        assert not is_open(old, instant)
    opening = next_opening(christmas, eve + timedelta(days=1, hours=10))
    assert opening is not None and opening.isoformat() == "2026-12-26T00:00:00-03:00"
    assert next_opening(old, eve) is None
    assert never_open(old) and not never_open(christmas)


def test_hours_with_nothing_under_them_is_refused_not_open() -> None:
    """Review: every day commented out under `hours:` loaded as open at any hour."""
    source = (
        "bot: x\nschedule:\n  timezone: America/Sao_Paulo\n  hours:\n"
        '    # mon-fri: ["08:00-18:00"]\nstart: a\nblocks:\n  a: {type: end, text: oi}\n'
    )
    with pytest.raises(FlowError) as refused:
        load_flow(source)
    assert "4:9: schedule.hours: expected a mapping (key: value), got nothing" in str(refused.value)
    dumped = Schedule(holidays=[{"date": "12-25", "name": "Natal"}]).model_dump(mode="json")
    assert "hours" not in dumped  # no hours is stored as no key, and reads back as it was
    assert Schedule.model_validate(dumped).hours is None
