"""Automatic assignment, the review's fixes end to end (time-skipping server, real SQL, HTTP):
slots freed inside the workflow ring at once, a requeued conversation keeps its place and goes
to another agent, the lapse timer runs the offer's length as SQL made it. The API's sweep is
off here, so nothing but the workflow's own dispatch makes the offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from activities.routing import DispatchRequest, RoutingActivities
from store.tables import queue_entries
from tests.conftest import admin_headers, running_stack
from tests.live import eventually
from tests.test_auto_assignment import Desk, open_desk, queue_up
from workflows.contracts import OfferNotice
from workflows.offers import _newer


async def accept(desk: Desk, name: str, conversation: str) -> None:
    offer = await desk.offer_for(name, conversation)
    taken = await desk.http.post(f"/api/agent/offers/{offer['id']}/accept", headers=desk.auth(name))
    assert taken.status_code == 200, taken.text


async def rings(desk: Desk, name: str, conversation: str) -> None:
    async def check() -> bool | None:
        offered = [o["conversation_id"] for o in await desk.offers(name)]
        return True if offered == [conversation] else None

    await eventually(check, f"{conversation} offered to {name}")


@pytest.mark.asyncio
async def test_a_customer_who_leaves_frees_the_slot_at_once(time_env, settings, engine):
    settings = settings.model_copy(update={"offer_sweep_seconds": 0})
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": []}, assignment="auto", offer_seconds=300)
        first = await queue_up(http, "c1")
        await accept(desk, "Ana", first)
        second = await queue_up(http, "c2")
        third = await queue_up(http, "c3")
        assert await desk.offers("Ana") == []  # at capacity
        left = await http.post(f"/api/conversations/{first}/leave")  # in service
        assert left.status_code == 202, left.text
        await rings(desk, "Ana", second)
        left = await http.post(f"/api/conversations/{second}/leave")  # offered, waiting
        assert left.status_code == 202, left.text
        await rings(desk, "Ana", third)


@pytest.mark.asyncio
async def test_a_requeued_conversation_keeps_its_place_and_goes_to_another_agent(
    time_env, settings, engine
):
    settings = settings.model_copy(update={"offer_sweep_seconds": 0})
    care = {"agent_reply_seconds": 120, "agent_silence_action": "requeue"}
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(
            http, {"Ana": [], "Beto": []}, assignment="auto", offer_seconds=300, care=care
        )
        await http.post("/api/agent/status", json={"status": "paused"}, headers=desk.auth("Beto"))
        conversation = await queue_up(http, "c1", "vip")
        before = await _entry(engine, conversation)
        await accept(desk, "Ana", conversation)
        back = {"status": "available"}
        await http.post("/api/agent/status", json=back, headers=desk.auth("Beto"))
        body = {"contact_id": "c1", "message_id": "c1-9", "text": "alô?"}
        assert (await http.post("/api/bots/loja/messages", json=body)).status_code == 200
        await time_env.sleep(121)  # Ana says nothing: back to the queue
        await rings(desk, "Beto", conversation)
        assert await desk.offers("Ana") == []  # the silent agent is not offered it first
        after = await _entry(engine, conversation)
        assert after.id != before.id
        assert (after.priority, after.skills, after.rank_at) == (
            before.priority,
            before.skills,
            before.rank_at,
        )
        assert after.priority == 5


@pytest.mark.asyncio
async def test_the_lapse_timer_runs_the_offers_length_as_sql_made_it(time_env, settings, engine):
    settings = settings.model_copy(update={"offer_sweep_seconds": 0})
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(
            http, {"Ana": []}, assignment="auto", offer_seconds=30, available=False
        )
        conversation = await queue_up(http, "c1")  # its snapshot says 30 s
        services = (await http.get("/api/omni/services", headers=admin_headers())).json()
        changed = await http.patch(
            f"/api/omni/services/{services[0]['id']}",
            json={"offer_seconds": 120},
            headers=admin_headers(),
        )
        assert changed.status_code == 200, changed.text
        await http.post("/api/agent/status", json={"status": "available"}, headers=desk.auth("Ana"))
        offer = await desk.offer_for("Ana", conversation)
        await time_env.sleep(60)  # past the snapshot's 30 s, within the offer's 120 s
        assert [o["id"] for o in await desk.offers("Ana")] == [offer["id"]]
        await time_env.sleep(61)
        await desk.offer_for("Ana", conversation, exclude=offer["id"])  # lapsed, offered again


@pytest.mark.asyncio
async def test_a_deleted_agents_offer_goes_to_the_next_at_once(time_env, settings, engine):
    settings = settings.model_copy(update={"offer_sweep_seconds": 0})
    async with running_stack(time_env, settings, engine) as http:
        desk = await open_desk(http, {"Ana": []}, assignment="auto", offer_seconds=300)
        conversation = await queue_up(http, "c1")
        await desk.offer_for("Ana", conversation)
        beto = {"name": "Beto", "services": ["Suporte"]}
        made = await http.post("/api/omni/agents", json=beto, headers=admin_headers())
        desk.tokens["Beto"] = made.json()["token"]
        back = {"status": "available"}
        await http.post("/api/agent/status", json=back, headers=desk.auth("Beto"))
        assert await desk.offers("Beto") == []  # Ana holds it
        ana = (await http.get("/api/agent/me", headers=desk.auth("Ana"))).json()["id"]
        gone = await http.delete(f"/api/omni/agents/{ana}", headers=admin_headers())
        assert gone.status_code == 204, gone.text
        await rings(desk, "Beto", conversation)


async def _entry(engine, conversation):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            sa.select(queue_entries).where(
                queue_entries.c.conversation_id == conversation,
                queue_entries.c.status.in_(["waiting", "in_service"]),
            )
        ).one()


def at(seconds: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def notice(offer: str, made: int | None, entry: str = "q1") -> OfferNotice:
    return OfferNotice(
        offer_id=offer,
        entry_id=entry,
        workflow_id="w",
        agent_id="a",
        made_at=at(made) if made is not None else None,
        expires_at=at(made + 30) if made is not None else None,
    )


@pytest.mark.parametrize(
    ("new", "held", "replaces"),
    [
        (notice("o2", 10), None, True),
        (notice("o2", 10), notice("o1", 0), True),
        (notice("o1", 0), notice("o2", 10), False),  # an older offer told late
        (notice("o1", 0), notice("o1", 0), False),  # the held one again (a re-run)
        (notice("o2", 10), notice("o1", None), True),  # held before notices had made_at
        (notice("o2", 0, entry="q2"), notice("o1", 10), True),  # another entry (requeued)
    ],
)
def test_only_a_newer_offer_replaces_the_held_one(new, held, replaces):
    assert _newer(new, held) is replaces


def test_a_rerun_dispatch_answers_the_offer_its_first_run_made(engine):
    from store.agents import set_agent_status
    from tests.test_routing_store import auto_service, enqueue

    service, (ana,) = auto_service(engine, names=("Ana",))
    set_agent_status(engine, ana, "available")
    enqueue(engine, service, 1)
    activities = RoutingActivities(engine)
    request = DispatchRequest(service_ids=[service], entry_id="q1")
    (first,) = activities.dispatch(request)
    (again,) = activities.dispatch(request)  # the worker died before the first answer
    assert again.offer_id == first.offer_id and again.expires_at == first.expires_at
    assert activities.dispatch(DispatchRequest(service_ids=[service])) == []
