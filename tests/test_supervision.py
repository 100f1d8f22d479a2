"""The supervisor's figures: the SQL of a period and of half hours on SQLite and PostgreSQL
(seeded queue rows with known times), the forecast's arithmetic, and the routes over HTTP."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from omni.models import AgentCreate, ServiceCreate
from omni.staffing import MAX_AGENTS
from omni.staffing_forecast import HalfHour, Target, advise_ahead, advise_now
from store import labels, service_history
from store.agents import create_agent, set_agent_status
from store.queue_figures import agents_by_state, open_offers_by_service
from store.services import create_service
from store.tables import agents, conversation_labels, offers, queue_entries
from tests.conftest import admin_headers
from transbordo.stack import stack_ring

T0 = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
S = timedelta(seconds=1)


def row(n: int, service: str, status: str, queued: int, picked: int | None, ended: int | None,
        base: datetime = T0) -> dict[str, object]:  # fmt: skip
    return {
        "id": f"q{n}",
        "conversation_id": f"c{n}",
        "workflow_id": f"w{n}",
        "service_id": service,
        "status": status,
        "enqueued_at": base + queued * S,
        "picked_up_at": base + picked * S if picked is not None else None,
        "ended_at": base + ended * S if ended is not None else None,
    }


def label(conversation: str, kind: str, value: str, at: int, service: str | None = "Suporte"
          ) -> dict[str, object]:  # fmt: skip
    return {"conversation_id": conversation, "kind": kind, "value": value, "service": service,
            "agent": "Ana", "created_at": T0 + at * S}  # fmt: skip


def seeded(engine: sa.Engine) -> str:
    """Suporte (80% in 60 s) with Ana available, Beto paused, Caio offline, and a known day
    (with the wrap-up codes and tags of its finished conversations)."""
    service = create_service(engine, ServiceCreate(name="Suporte"), stack_ring()).id
    create_service(engine, ServiceCreate(name="Vendas"), stack_ring())
    for name, state in (("Ana", "available"), ("Beto", "paused"), ("Caio", None)):
        agent = create_agent(engine, AgentCreate(name=name, services=["Suporte"]))
        if state:
            set_agent_status(engine, agent.id, state)  # type: ignore[arg-type]
    rows = [
        row(1, service, "finished", 0, 30, 330),  # waited 30 (in target), handled 300
        row(2, service, "finished", 60, 160, 360),  # waited 100 (late), handled 200
        row(3, service, "abandoned", 120, None, 220),  # left after 100 in line
        row(4, service, "in_service", 600, 610, None),  # waited 10, still with the agent
        row(5, service, "transferred", 700, 720, 820),  # waited 20, handled 100 then transferred
        row(7, service, "waiting", 900, None, None),
        row(8, service, "abandoned", 1800, None, 1860),  # on the half hour exactly
        row(6, service, "finished", 86400, 86401, 86500),  # the next day: outside the period
    ]
    tagged = [
        label("c1", "wrapup", "boleto", 330),
        label("c1", "tag", "vip", 330),
        label("c2", "wrapup", "boleto", 360),
        label("c2", "tag", "vip", 360),
        label("c5", "wrapup", "troca", 820),
        label("c5", "tag", "urgente", 820),
        label("c6", "wrapup", "boleto", 86500),  # the next day: outside the period
        label("c9", "wrapup", "troca", 100, service=None),  # no human service: not counted
    ]
    with engine.begin() as conn:
        conn.execute(queue_entries.insert(), rows)
        conn.execute(conversation_labels.insert(), tagged)
    return service


def offer(engine: sa.Engine, n: int, entry: str, agent: str, status: str) -> None:
    with engine.begin() as conn:
        agent_id = conn.scalar(sa.select(agents.c.id).where(agents.c.name == agent))
        conn.execute(
            offers.insert().values(
                id=f"o{n}", entry_id=entry, agent_id=agent_id, status=status,
                created_at=T0, expires_at=T0 + 30 * S,
            )
        )  # fmt: skip


def test_offers_pending_counts_the_open_offers_of_each_service(any_engine: sa.Engine) -> None:
    service = seeded(any_engine)
    assert open_offers_by_service(any_engine) == {}
    with any_engine.begin() as conn:
        conn.execute(queue_entries.insert(), [row(9, service, "waiting", 950, None, None)])
    offer(any_engine, 1, "q7", "Beto", "lapsed")  # ended offers do not count
    offer(any_engine, 2, "q4", "Ana", "accepted")
    offer(any_engine, 3, "q7", "Ana", "open")
    offer(any_engine, 4, "q9", "Beto", "open")
    assert open_offers_by_service(any_engine) == {service: 2}


def test_period_figures_count_what_was_enqueued_in_the_period(any_engine: sa.Engine) -> None:
    seeded(any_engine)
    suporte, vendas = service_history.period_figures(any_engine, T0, T0 + timedelta(hours=1))
    assert (suporte.service, vendas.service) == ("Suporte", "Vendas")
    assert (suporte.answered, suporte.answered_within_target, suporte.abandoned) == (4, 3, 2)
    assert suporte.offered == 6
    assert suporte.service_level_percent == 50.0
    assert suporte.abandonment_percent == 33.3
    assert suporte.average_speed_of_answer_seconds == pytest.approx(40.0, abs=0.05)  # 160 / 4
    assert suporte.handled == 3
    assert suporte.average_handle_seconds == pytest.approx(200.0, abs=0.05)  # 600 / 3
    assert (suporte.target_service_level_percent, suporte.answer_time_seconds) == (80, 60)
    assert vendas.offered == 0 and vendas.service_level_percent is None
    assert vendas.average_handle_seconds is None
    (later, _) = service_history.period_figures(
        any_engine, T0 + timedelta(days=1), T0 + 2 * timedelta(days=1)
    )
    assert (later.answered, later.average_handle_seconds) == (1, pytest.approx(99.0, abs=0.05))


def test_a_requeued_contact_counts_once_with_both_agents_handling(any_engine: sa.Engine) -> None:
    """Care's requeue closes the entry `transferred` and opens one with the first enqueued_at:
    the same contact, not a second arrival whose 'wait' holds the first agent's handling."""
    service = seeded(any_engine)
    continued = {**row(10, service, "finished", 700, 900, 960), "conversation_id": "c5"}
    with any_engine.begin() as conn:
        conn.execute(queue_entries.insert(), [continued])
    (suporte, _) = service_history.period_figures(any_engine, T0, T0 + timedelta(hours=1))
    assert (suporte.offered, suporte.answered, suporte.answered_within_target) == (6, 4, 3)
    assert suporte.average_speed_of_answer_seconds == pytest.approx(40.0, abs=0.05)  # unchanged
    assert suporte.handled == 3
    assert suporte.average_handle_seconds == pytest.approx(220.0, abs=0.05)  # (600 + 60) / 3
    first, _ = service_history.half_hours(any_engine, service, T0, T0 + timedelta(hours=1))
    assert (first.arrivals, first.handled) == (6, 3)
    assert first.handle_seconds_total == pytest.approx(660.0, abs=0.05)


def test_labels_are_counted_per_service_in_the_period(any_engine: sa.Engine) -> None:
    seeded(any_engine)
    found = labels.counts_by_service(any_engine, T0, T0 + timedelta(hours=1))
    assert found == {
        "Suporte": {"wrapup": {"boleto": 2, "troca": 1}, "tag": {"vip": 2, "urgente": 1}}
    }
    assert list(found["Suporte"]["wrapup"]) == ["boleto", "troca"]  # most used first
    assert labels.counts_by_service(any_engine, T0 - timedelta(hours=1), T0) == {}


def test_half_hours_group_by_the_half_hour_enqueued(any_engine: sa.Engine) -> None:
    service = seeded(any_engine)
    first, second = service_history.half_hours(any_engine, service, T0, T0 + timedelta(hours=1))
    assert first.start == T0 and second.start == T0 + timedelta(minutes=30)
    assert (first.arrivals, first.handled, first.abandoned) == (6, 3, 1)
    assert first.handle_seconds_total == pytest.approx(600, abs=0.05)
    assert first.queue_seconds_total == pytest.approx(30 + 100 + 100 + 10 + 20, abs=0.05)
    assert (second.arrivals, second.abandoned) == (1, 1)
    assert second.queue_seconds_total == pytest.approx(60, abs=0.05)


def test_agents_by_state_counts_each_service(any_engine: sa.Engine) -> None:
    service = seeded(any_engine)
    assert agents_by_state(any_engine)[service] == {"available": 1, "paused": 1, "offline": 1}


# --- the forecast (pure) ----------------------------------------------------------------------

SP = ZoneInfo("America/Sao_Paulo")
TARGET = Target(service_level_percent=80, answer_time_seconds=20)


def busy(
    day: int, hour: int, arrivals: int = 100, abandoned: int = 0, queued: float = 0
) -> HalfHour:
    """A half hour at `hour`:00 local, `day` days before 2026-11-21, with 180 s handle times."""
    start = datetime(2026, 11, 21 - day, hour, 0, tzinfo=SP).astimezone(UTC)
    return HalfHour(start, arrivals, arrivals, 180.0 * arrivals, abandoned, queued)


NOW = datetime(2026, 11, 21, 9, 40, tzinfo=SP)


def test_the_forecast_averages_the_same_half_hour_over_the_days_seen() -> None:
    # two days of history; 10:00 had 100 contacts on each: 100 / 30 min at 180 s = 10 Erlangs,
    # the Call Centre Helper example of tests/test_staffing.py → 14 agents for 80% in 20 s
    history = [busy(2, 10), busy(1, 10), busy(2, 11, arrivals=50)]
    ahead = advise_ahead(history, NOW, SP, TARGET)
    assert len(ahead) == 48
    assert ahead[0].start == datetime(2026, 11, 21, 9, 30, tzinfo=SP)
    assert (ahead[0].arrivals, ahead[0].agents_needed) == (0.0, 0)
    assert (ahead[1].arrivals, ahead[1].handle_seconds, ahead[1].agents_needed) == (
        100.0,
        180.0,
        14,
    )
    assert ahead[3].start.hour == 11 and ahead[3].arrivals == 25.0  # 50 over the 2 days seen
    assert ahead[-1].start == datetime(2026, 11, 22, 9, 0, tzinfo=SP)


def test_today_is_not_part_of_the_forecast_but_is_of_now() -> None:
    today = busy(0, 9, arrivals=500)
    ahead = advise_ahead([busy(1, 10), today], NOW, SP, TARGET)
    assert ahead[1].agents_needed == 14 and ahead[0].arrivals == 0
    assert advise_now(100, [busy(1, 10)], NOW, TARGET).agents_needed == 14


def test_abandonment_history_makes_it_erlang_a() -> None:
    # 10 abandoned of 100 with 1,200 s queued in all: patience 120 s → 12 agents, not 14
    history = [busy(1, 10, abandoned=10, queued=1200)]
    advice = advise_ahead(history, NOW, SP, TARGET)[1]
    assert (advice.patience_seconds, advice.agents_needed) == (120.0, 12)


def test_an_unreachable_target_is_reported_not_raised() -> None:
    # 40,000 contacts in half an hour at 180 s: 4,000 Erlangs, more than MAX_AGENTS can carry
    flood = [busy(1, 10, arrivals=40_000)]
    advice = advise_ahead(flood, NOW, SP, TARGET)
    assert (advice[1].agents_needed, advice[1].unreachable_above) == (None, MAX_AGENTS)
    assert (advice[0].agents_needed, advice[0].unreachable_above) == (0, None)
    now = advise_now(40_000, flood, NOW, TARGET)
    assert (now.agents_needed, now.unreachable_above) == (None, MAX_AGENTS)


def test_no_handle_time_yet_means_no_advice() -> None:
    start = datetime(2026, 11, 20, 10, 0, tzinfo=SP).astimezone(UTC)
    never_handled = HalfHour(start, 10, 0, 0.0, 0, 0.0)
    assert advise_ahead([never_handled], NOW, SP, TARGET)[1].agents_needed is None


# --- over HTTP ----------------------------------------------------------------------------------


async def test_the_routes_answer_the_supervisor(
    admin_api: httpx.AsyncClient, engine: sa.Engine
) -> None:
    service = seeded(engine)
    now = datetime.now(UTC)
    slot = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    yesterday = slot - timedelta(days=1)
    history = [
        row(
            1000 + 10 * k + i,
            service,
            "finished",
            i,
            i,
            i + 180,
            base=yesterday + timedelta(minutes=k),
        )
        for k in (0, 30)  # the current half hour and the next, yesterday: 100 contacts each
        for i in range(100)
    ]
    with engine.begin() as conn:
        conn.execute(queue_entries.insert(), history)
    offer(engine, 1, "q7", "Ana", "open")

    live = await admin_api.get("/api/supervisor/live", headers=admin_headers())
    assert live.status_code == 200, live.text
    suporte = next(one for one in live.json() if one["service"] == "Suporte")
    assert (suporte["waiting"], suporte["in_service"], suporte["offers_pending"]) == (1, 1, 1)
    assert suporte["agents"] == {"available": 1, "paused": 1, "offline": 1}
    assert suporte["online"] == 2 and suporte["oldest_wait_seconds"] > 0

    day = await admin_api.get(
        "/api/supervisor/period",
        params={"from": "2026-11-20", "to": "2026-11-20", "tz": "America/Sao_Paulo"},
        headers=admin_headers(),
    )
    assert day.status_code == 200, day.text
    assert day.json()["start"].startswith("2026-11-20T03:00:00")  # local midnight in UTC
    figures = next(one for one in day.json()["services"] if one["service"] == "Suporte")
    assert (figures["offered"], figures["service_level_percent"], figures["csat_average"]) == (
        6,
        50.0,
        None,
    )
    assert figures["wrapup_codes"] == {"boleto": 2, "troca": 1}
    assert figures["tags"] == {"vip": 2, "urgente": 1}
    vendas = next(one for one in day.json()["services"] if one["service"] == "Vendas")
    assert (vendas["wrapup_codes"], vendas["tags"]) == ({}, {})
    today = await admin_api.get("/api/supervisor/period", headers=admin_headers())
    assert today.status_code == 200 and today.json()["timezone"] == "America/Sao_Paulo"

    advice = await admin_api.get(
        "/api/supervisor/staffing", params={"tz": "UTC"}, headers=admin_headers()
    )
    assert advice.status_code == 200, advice.text
    staffing = next(one for one in advice.json()["services"] if one["service"] == "Suporte")
    assert (staffing["online"], staffing["available"]) == (2, 1)
    # target 80% in 60 s at 10 Erlangs with 180 s handle times
    assert staffing["half_hours"][0]["arrivals"] == 100.0
    assert staffing["half_hours"][0]["model"] == "erlang_c"
    assert staffing["half_hours"][0]["agents_needed"] == 13
    assert len(staffing["half_hours"]) == 48


@pytest.mark.parametrize(
    "params",
    [
        {"tz": "Mars/Olympus"},
        {"from": "ontem"},
        {"from": "2026-11-21", "to": "2026-11-20"},
        {"to": "9999-12-31"},  # the calendar's last day: its end is past the calendar
        {"from": "0001-01-01", "tz": "Asia/Tokyo"},  # its midnight in UTC is before year 1
        {"from": "0001-01-01T00:00:00", "tz": "Asia/Tokyo"},
    ],
)
async def test_bad_periods_are_refused(
    admin_api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    refused = await admin_api.get("/api/supervisor/period", params=params, headers=admin_headers())
    assert refused.status_code == 400
    assert refused.json()["code"] == "bad_request"


def test_a_day_with_a_clock_change_has_its_own_half_hours() -> None:
    """New York leaves summer time on 2026-11-01: 01:00–02:00 happens twice, each half hour is
    still 30 minutes, and a 10:00 of summer time forecasts the 10:00 of winter time."""
    zone = ZoneInfo("America/New_York")
    now = datetime(2026, 10, 31, 12, 10, tzinfo=zone)
    summer_ten = datetime(2026, 10, 30, 10, 0, tzinfo=zone).astimezone(UTC)
    history = [HalfHour(summer_ten, 100, 100, 18000.0, 0, 0.0)]
    ahead = advise_ahead(history, now, zone, TARGET)
    instants = [slot.start.astimezone(UTC) for slot in ahead]
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(instants))
    clocks = [slot.start.strftime("%H:%M") for slot in ahead]
    assert clocks.count("01:30") == 2 and clocks[0] == "12:00"
    ten = [slot for slot in ahead if slot.start.strftime("%H:%M") == "10:00"]
    assert [(slot.start.utcoffset(), slot.agents_needed) for slot in ten] == [
        (timedelta(hours=-5), 14)
    ]


def test_an_unknown_operator_zone_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from transbordo.settings import Settings

    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(supervisor_timezone="Mars/Olympus")
