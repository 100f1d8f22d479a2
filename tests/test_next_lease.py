"""`next`'s lease (store/next_lease.py): concurrent `POST /agent/next` calls spread over
different conversations instead of racing for the same one; a lease never blocks a pickup by id
or an offer's agent, and one left by an API process that died expires. SQLite and PostgreSQL,
real Temporal (time-skipping server), HTTP through the app."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from api.shedding import gate_of
from omni.models import AgentCreate, ServiceCreate
from store import next_lease, queue, routing
from store.agents import create_agent, set_agent_status
from store.common import now
from store.services import create_service
from store.tables import queue_entries
from tests.conftest import (
    admin_headers,
    conversation_handle,
    conversation_wid,
    pydantic_client,
    running_stack,
)
from tests.test_handoff import flow, into_queue, publish, setup_omni
from transbordo.stack import running, stack_ring

LONG = 600.0
"""A lease that outlasts any test."""


def staffed(engine, assignment="manual"):  # type: ignore[no-untyped-def]
    service = create_service(
        engine, ServiceCreate(name="Suporte", assignment=assignment), stack_ring()
    )
    ids = []
    for name in ("Ana", "Beto"):
        agent = create_agent(engine, AgentCreate(name=name, services=["Suporte"]))
        set_agent_status(engine, agent.id, "available")
        ids.append(agent.id)
    for n in (1, 2):
        queue.enqueue(
            engine,
            entry_id=f"q{n}",
            conversation_id=f"c{n}",
            workflow_id=f"w{n}",
            service_id=service.id,
            preview="",
        )
    return service.id, ids


def candidates(engine, agent: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.id for e in queue.waiting_for_agent(engine, agent, lease_free_at=now())]


def test_one_lease_per_entry_and_next_skips_the_others(any_engine):
    _, (ana, beto) = staffed(any_engine)
    assert next_lease.take(any_engine, "q1", ana, LONG)
    assert not next_lease.take(any_engine, "q1", beto, LONG)  # the compare-and-set lost
    assert next_lease.take(any_engine, "q1", ana, LONG)  # its own `next`, asking again
    assert candidates(any_engine, beto) == ["q2"]
    assert candidates(any_engine, ana) == ["q1", "q2"]
    assert [e.id for e in queue.waiting_for_agent(any_engine, beto)] == ["q1", "q2"]  # the list
    next_lease.release(any_engine, "q1", beto)  # not Beto's: nothing
    assert candidates(any_engine, beto) == ["q2"]
    next_lease.release(any_engine, "q1", ana)
    assert candidates(any_engine, beto) == ["q1", "q2"]


def test_a_dead_api_s_lease_expires_and_the_claim_ignores_leases(any_engine):
    _, (ana, beto) = staffed(any_engine)
    assert next_lease.take(any_engine, "q1", beto, 10, at=now() - timedelta(seconds=60))
    assert candidates(any_engine, ana) == ["q1", "q2"]
    assert next_lease.take(any_engine, "q1", ana, LONG)
    assert next_lease.take(any_engine, "q2", ana, LONG)
    assert queue.claim(any_engine, "q2", beto).code == "ok"  # the claim decides, not the lease
    assert not next_lease.take(any_engine, "q2", ana, LONG)  # no longer waiting


def test_an_offer_s_agent_takes_the_lease_of_another(any_engine):
    service, (ana, beto) = staffed(any_engine, assignment="auto")
    assert next_lease.take(any_engine, "q1", ana, LONG)
    set_agent_status(any_engine, ana, "paused")  # so the offer goes to Beto
    made = routing.dispatch(any_engine, [service], agent_id=beto)
    assert [offer.entry_id for offer in made] == ["q1"]
    assert candidates(any_engine, beto)[0] == "q1"  # offered to Beto: first, leased or not
    assert next_lease.take(any_engine, "q1", beto, LONG)
    assert queue.claim(any_engine, "q1", beto).code == "ok"


# --- over HTTP -----------------------------------------------------------------------------

CROWD = 7
"""More agents than `next` reads candidates at a time (agent_actions.NEXT_ATTEMPTS = 5)."""


async def pickups_in(time_env, contact: str) -> int:  # type: ignore[no-untyped-def]
    handle = conversation_handle(time_env, conversation_wid("loja", contact))
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
        and event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "pickup"
    )


async def test_agents_asking_next_at_once_each_get_another_conversation(
    time_env, settings, any_engine
):
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        tokens = []
        for n in range(CROWD):
            made = await http.post(
                "/api/omni/agents",
                json={"name": f"Agente {n}", "services": ["Suporte"]},
                headers=admin_headers(),
            )
            token = {"Authorization": f"Bearer {made.json()['token']}"}
            await http.post("/api/agent/status", json={"status": "available"}, headers=token)
            tokens.append(token)
        contacts = [f"turno-{n}" for n in range(CROWD)]
        waiting = {(await into_queue(http, contact))["conversation_id"] for contact in contacts}
        taken = await asyncio.gather(*(http.post("/api/agent/next", headers=t) for t in tokens))
        assert [t.status_code for t in taken] == [200] * CROWD, [t.text for t in taken]
        assert {t.json()["conversation_id"] for t in taken} == waiting
        # no pickup was sent to a conversation another agent's `next` was taking
        assert [await pickups_in(time_env, contact) for contact in contacts] == [1] * CROWD


async def test_a_lease_skips_next_but_not_a_pickup_and_a_dead_one_expires(
    time_env, settings, any_engine
):
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        roomy = await http.patch(
            f"/api/omni/agents/{omni.agents['Ana']['id']}",
            json={"capacity": 2},
            headers=admin_headers(),
        )
        assert roomy.status_code == 200, roomy.text
        older, newer = [(await into_queue(http, c))["conversation_id"] for c in ("velho", "novo")]
        beto = omni.agents["Beto"]["id"]
        entry = {c: queue.open_entry(any_engine, c).id for c in (older, newer)}  # type: ignore[union-attr]
        # Beto's API died in its `next`: one lease ran out a minute ago, one has not yet
        assert next_lease.take(any_engine, entry[older], beto, 1, at=now() - timedelta(minutes=1))
        assert next_lease.take(any_engine, entry[newer], beto, LONG)

        took = await http.post("/api/agent/next", headers=omni.agent("Ana"))
        assert took.status_code == 200 and took.json()["conversation_id"] == older, took.text
        skipped = await http.post("/api/agent/next", headers=omni.agent("Ana"))
        assert skipped.status_code == 409 and skipped.json()["code"] == "nothing_waiting"
        picked = await http.post(
            f"/api/agent/conversations/{newer}/pickup", headers=omni.agent("Ana")
        )
        assert picked.status_code == 200, picked.text


async def test_a_refused_pickup_gives_the_lease_back(time_env, settings, any_engine):
    """Ana, paused, asks `next`: the claim refuses her, and her lease goes with the refusal, so
    Beto's `next` gets the conversation at once (not after `next_lease_seconds`)."""
    async with running_stack(time_env, settings, any_engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        waiting = (await into_queue(http, "recusado"))["conversation_id"]
        await http.post("/api/agent/status", json={"status": "paused"}, headers=omni.agent("Ana"))
        refused = await http.post("/api/agent/next", headers=omni.agent("Ana"))
        assert refused.json()["code"] == "not_available", refused.text
        took = await http.post("/api/agent/next", headers=omni.agent("Beto"))
        assert took.status_code == 200 and took.json()["conversation_id"] == waiting, took.text


async def test_a_shed_pickup_gives_the_lease_back(time_env, settings, any_engine):
    """Ana's `next` is turned away with 503 `overloaded` before its pickup is sent (the API
    process is at its limit of Temporal calls): her lease goes too, so Beto's `next` gets the
    conversation at once, and a lease Beto lost to her does not keep it from him later."""
    async with running(pydantic_client(time_env), settings, any_engine) as stack:
        http = stack.http
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        waiting = (await into_queue(http, "espremido"))["conversation_id"]
        gate = gate_of(stack.app.state.temporal)
        assert gate is not None
        limit, gate.limit = gate.limit, 0  # every Temporal call of this process is shed now
        shed = await http.post("/api/agent/next", headers=omni.agent("Ana"))
        assert shed.status_code == 503 and shed.json()["code"] == "overloaded", shed.text
        gate.limit = limit
        took = await http.post("/api/agent/next", headers=omni.agent("Beto"))
        assert took.status_code == 200 and took.json()["conversation_id"] == waiting, took.text


def test_a_lease_keeps_queue_order_and_a_transfer_starts_unleased(any_engine):
    service, (ana, beto) = staffed(any_engine)
    other = create_service(any_engine, ServiceCreate(name="Vendas"), stack_ring())
    queue.enqueue(
        any_engine,
        entry_id="q3",
        conversation_id="c3",
        workflow_id="w3",
        service_id=service,
        preview="",
        priority=5,
    )
    assert candidates(any_engine, ana) == ["q3", "q1", "q2"]  # priority first, as without leases
    assert next_lease.take(any_engine, "q3", beto, LONG)
    assert candidates(any_engine, ana) == ["q1", "q2"]
    assert queue.claim(any_engine, "q3", beto).code == "ok"
    queue.transfer(any_engine, "q3", other.id, "q3b")
    with any_engine.connect() as conn:
        lease = conn.execute(
            sa.select(queue_entries.c.next_lease_agent).where(queue_entries.c.id == "q3b")
        ).scalar_one()
    assert lease is None  # the transferred customer's new entry is free for any `next`
