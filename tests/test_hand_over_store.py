"""The hand-over at once (`omni_hand_over`, store/hand_over.py) answers as the step-by-step
activities do (`omni_resolve`, `omni_enqueue`, `omni_wait_estimate`), on SQLite and PostgreSQL:
it reads the service's row and agents its own way, on one connection, so each answer is
compared with theirs."""

from __future__ import annotations

from typing import Any

import pytest

from activities.omni_queue import (
    EnqueueRequest,
    HandOverRequest,
    OmniActivities,
    ResolveRequest,
)
from omni.keys import hash_key
from omni.models import AgentCreate, IntegrationCreate, ServiceCreate
from store import queue
from store.agents import create_agent, set_agent_status
from store.integrations import create_integration
from store.services import create_service
from transbordo.stack import stack_ring

CARE = {"wait_notice_interval_seconds": 120, "csat": True, "agent_reply_seconds": 60}
CARDS = {"enabled": True, "interval_seconds": 90, "cards": [{"title": "Oi", "text": "Aguarde"}]}


def setup(engine: Any, *, voicemail: int = 0, agents: str = "available") -> tuple[str, str]:
    """Suporte (every setting a snapshot carries) and Financeiro; Ana in both; the key."""
    body: dict[str, Any] = {
        "name": "Suporte",
        "abandon_seconds": 300,
        "voicemail_seconds": voicemail,
        "queue_notifications": CARDS,
        "wrapup": {"required": True, "codes": ["venda"]},
        "assignment": "manual",
        "offer_seconds": 20,
        "agent_capacity": 2,
        "care": CARE,
    }
    create_service(engine, ServiceCreate(**body), stack_ring())
    create_service(engine, ServiceCreate(name="Financeiro"), stack_ring())
    ana = create_agent(
        engine, AgentCreate(name="Ana", services=["Suporte", "Financeiro"], capacity=3)
    )
    if agents != "offline":
        set_agent_status(engine, ana.id, agents)
    key = create_integration(engine, IntegrationCreate(service="Suporte", bot="loja")).api_key
    create_integration(engine, IntegrationCreate(service="Financeiro", bot="loja"))
    return "sha256:" + hash_key(key), ana.id


def request(key: str, n: int, **kw: Any) -> HandOverRequest:
    service = kw.pop("service", None)
    return HandOverRequest(
        resolve=ResolveRequest(bot=kw.pop("bot", "loja"), omni_key=key, service=service),
        enqueue=EnqueueRequest(
            entry_id=f"q{n}",
            conversation_id=f"c{n}",
            workflow_id=f"w{n}",
            service_id="",
            preview="quero ajuda " * 30,
            priority=kw.pop("priority", 0),
            skills=kw.pop("skills", []),
        ),
        **{"closed": False, "check_agents_online": True, "estimate": True, **kw},
    )


def step_by_step(omni: OmniActivities, req: HandOverRequest) -> dict[str, Any]:
    """What the three activities answer for the same request (the reference)."""
    target = omni.resolve(req.resolve)
    if target is None or req.closed or (req.check_agents_online and not target.agents_logged_in):
        return {"target": target, "entry_id": None, "estimate": None}
    entry_id = omni.enqueue(req.enqueue.model_copy(update={"service_id": target.service_id}))
    voicemail = target.voicemail_seconds > 0 and target.agents_available == 0
    estimate = omni.wait_estimate(entry_id) if req.estimate and not voicemail else None
    return {"target": target, "entry_id": entry_id, "estimate": estimate}


def same_answers(engine: Any, req: HandOverRequest) -> Any:
    """Hand over `req`, then compare with the step-by-step answers (the entry exists by then:
    the reference's enqueue finds it, as a retry would)."""
    omni = OmniActivities(engine)
    at_once = omni.hand_over(req)
    reference = step_by_step(omni, req)
    assert at_once.model_dump() == {
        **{
            key: value.model_dump() if hasattr(value, "model_dump") else value
            for key, value in reference.items()
        },
        "recorded_through": None,
    }
    return at_once


@pytest.mark.parametrize("service", [None, "Financeiro"])
def test_queued_customers_get_the_same_target_place_and_estimate(any_engine, service):
    key, ana = setup(any_engine)
    for n in range(1, 5):
        result = same_answers(any_engine, request(key, n, service=service))
        assert result.entry_id == f"q{n}" and result.estimate.position == n
    assert result.target.service_name == (service or "Suporte")
    if service is None:
        assert result.target.wrapup_codes == ["venda"] and result.target.notification_cards
    assert queue.get_entry(any_engine, "q1").preview == ("quero ajuda " * 30)[:200]
    # with history: answered and finished conversations feed the estimate
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    queue.finish(any_engine, "q1")
    assert queue.claim(any_engine, "q2", ana).code == "ok"
    later = same_answers(any_engine, request(key, 9, service=service, priority=5))
    assert later.estimate.position == 1  # priority ahead of q3, q4


def test_nobody_available_takes_the_former_estimate(any_engine):
    key, _ = setup(any_engine, agents="paused")
    for n in (1, 2):
        result = same_answers(any_engine, request(key, n))
        assert result.target.agents_available == 0 and result.target.agents_logged_in == 1
        # nobody answered yet: the 60 s answer-time target x place, over one agent (at least)
        assert result.estimate.estimated_wait_seconds == 60 * result.estimate.position
    # the supervisor reads the same figure, for the customer who would queue next
    figures = queue.metrics(any_engine, result.target.service_id)
    assert figures.estimated_wait_seconds == 60 * (figures.waiting + 1) == 180


def test_stops_before_the_queue_as_the_steps_do(any_engine):
    key, _ = setup(any_engine, agents="offline")
    assert same_answers(any_engine, request(key, 1)).entry_id is None  # nobody logged in
    queued = same_answers(any_engine, request(key, 2, check_agents_online=False))
    assert queued.entry_id == "q2" and queued.estimate is not None
    assert same_answers(any_engine, request(key, 3, closed=True)).target is not None
    assert same_answers(any_engine, request(key, 4, bot="outro")).target is None
    assert same_answers(any_engine, request(key, 5, service="Vendas")).target is None
    assert same_answers(any_engine, request(key.removeprefix("sha256:"), 6)).target is None
    assert same_answers(any_engine, request(key, 7, estimate=False)).estimate is None
    assert queue.open_entry(any_engine, "c3") is None


def test_voicemail_service_with_nobody_available_gets_no_estimate(any_engine):
    key, _ = setup(any_engine, voicemail=30, agents="paused")
    result = same_answers(any_engine, request(key, 1))
    assert result.entry_id == "q1" and result.estimate is None


def test_a_retry_after_the_pickup_finds_the_entry_not_waiting(any_engine):
    key, ana = setup(any_engine)
    omni = OmniActivities(any_engine)
    assert omni.hand_over(request(key, 1)).estimate.position == 1
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    again = same_answers(any_engine, request(key, 1))
    assert again.entry_id == "q1"
    assert again.estimate.model_dump() == {"position": None, "estimated_wait_seconds": None}
