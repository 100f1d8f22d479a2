"""The desk's SQL on SQLite and PostgreSQL: labels recorded once (retries are safe), searched,
a contact's earlier conversations, their CSAT answers and who served them, quick replies by
scope; the pure wrap-up rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omni.desk import QuickReplyCreate, QuickReplyUpdate, clean_tags, wrapup_refusal
from omni.errors import Conflict, NotFound
from omni.models import AgentCreate, ServiceCreate, ServiceUpdate
from store import care, labels, queue, quick_replies
from store.agents import create_agent, delete_agent, set_agent_status
from store.conversations import ensure_conversation, get_conversation
from store.services import create_service, delete_service, update_service
from transbordo.stack import stack_ring


@pytest.mark.parametrize(
    ("required", "codes", "code", "refused"),
    [
        (False, [], None, False),
        (False, ["Venda"], None, False),
        (True, [], None, False),  # required with no codes: nothing to choose from
        (True, ["Venda", "Dúvida"], None, True),
        (True, ["Venda"], "Venda", False),
        (True, ["Venda"], "Outro", True),
        (False, ["Venda"], "Outro", True),
    ],
)
def test_wrapup_refusal(required, codes, code, refused):  # type: ignore[no-untyped-def]
    assert (wrapup_refusal(required, codes, code) is not None) == refused


def test_wrapup_refusals_name_what_to_do() -> None:
    assert wrapup_refusal(True, ["Venda", "Dúvida"], None) == (
        "a wrap-up code is required: Venda, Dúvida"
    )
    assert wrapup_refusal(True, ["Venda"], "Outro") == "unknown wrap-up code; use one of: Venda"
    assert wrapup_refusal(False, [], "Venda") == (  # never "use one of: " and nothing
        "unknown wrap-up code: the service has no wrap-up codes now; finish without one"
    )


def test_clean_tags() -> None:
    assert clean_tags([" vip ", "VIP", "", "boleto", "Vip"]) == ["vip", "boleto"]


def test_labels_search_and_history(any_engine):  # type: ignore[no-untyped-def]
    for n, contact in [(1, "5511"), (2, "5511"), (3, "5522")]:
        ensure_conversation(
            any_engine,
            conversation_id=f"c{n}",
            workflow_id=f"w{n}",
            bot="loja",
            bot_version=1,
            contact_id=contact,
            status="ended",
        )
    for _ in range(2):  # a retried activity changes nothing
        labels.record_labels(
            any_engine, "c1", wrapup_code="Venda", tags=["vip"], service="Suporte", agent="Ana"
        )
    labels.record_labels(
        any_engine, "c3", wrapup_code="Dúvida", tags=["vip"], service="Vendas", agent="Beto"
    )
    found = labels.labels_of(any_engine, ["c1", "c2", "c3"])
    assert found["c1"] == labels.Labels(tags=["vip"], wrapup_codes=["Venda"])
    assert "c2" not in found
    assert {c.id for c in labels.search(any_engine, tag="vip")} == {"c1", "c3"}
    assert [c.id for c in labels.search(any_engine, tag="vip", service="Suporte")] == ["c1"]
    assert [c.id for c in labels.search(any_engine, wrapup_code="Dúvida")] == ["c3"]
    assert [c.id for c in labels.search(any_engine, service="Vendas")] == ["c3"]
    assert labels.search(any_engine, tag="vip", wrapup_code="Dúvida", service="Suporte") == []
    current = get_conversation(any_engine, "c2")
    assert current is not None
    assert [c.id for c in labels.earlier_conversations(any_engine, current)] == ["c1"]


def test_the_latest_csat_answer_of_each_conversation(any_engine):  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    for n, (conversation, score, comment) in enumerate(
        [("c1", 2, None), ("c1", 5, "resolveu"), ("c3", 3, None)]
    ):
        care.save_csat(any_engine, care.CsatAnswer(
            id=f"a{n}", conversation_id=conversation, service_id=None, service_name="Suporte",
            agent_id=None, agent_name="Ana", score=score, comment=comment,
            answered_at=at + timedelta(minutes=n),
        ))  # fmt: skip
    found = care.csat_of(any_engine, ["c1", "c2"])
    assert {key: (a.score, a.comment) for key, a in found.items()} == {"c1": (5, "resolveu")}
    assert care.csat_of(any_engine, []) == {}


def test_quick_replies_by_scope(any_engine):  # type: ignore[no-untyped-def]
    ring = stack_ring()
    suporte = create_service(any_engine, ServiceCreate(name="Suporte"), ring)
    create_service(any_engine, ServiceCreate(name="Vendas"), ring)
    made = quick_replies.create_quick_reply(
        any_engine, QuickReplyCreate(shortcut="/ola", title="Oi", text="Olá!")
    )
    quick_replies.create_quick_reply(
        any_engine, QuickReplyCreate(shortcut="/ola", title="Oi", text="Oi!", service="Suporte")
    )
    quick_replies.create_quick_reply(
        any_engine, QuickReplyCreate(shortcut="/x", title="X", text="x", service="Vendas")
    )
    with pytest.raises(Conflict):
        quick_replies.create_quick_reply(
            any_engine, QuickReplyCreate(shortcut="/ola", title="Outro", text="!")
        )
    mine = quick_replies.list_quick_replies(any_engine, ["Suporte"])
    assert [(r.shortcut, r.service) for r in mine] == [("/ola", None), ("/ola", "Suporte")]
    renamed = quick_replies.update_quick_reply(any_engine, made.id, QuickReplyUpdate(title="Olá"))
    assert renamed.title == "Olá" and renamed.text == "Olá!"
    update_service(any_engine, suporte.id, ServiceUpdate(wrapup={"codes": ["Venda"]}), ring)
    delete_service(any_engine, suporte.id)  # its quick replies go with it
    assert [r.service for r in quick_replies.list_quick_replies(any_engine)] == [None, "Vendas"]
    quick_replies.delete_quick_reply(any_engine, made.id)
    with pytest.raises(NotFound):
        quick_replies.get_quick_reply(any_engine, made.id)


def test_who_served_each_conversation(any_engine):  # type: ignore[no-untyped-def]
    ring = stack_ring()
    suporte = create_service(any_engine, ServiceCreate(name="Suporte"), ring).id
    financeiro = create_service(any_engine, ServiceCreate(name="Financeiro"), ring).id
    ana, caio, beto, dani = (
        create_agent(any_engine, AgentCreate(name=name, services=[service])).id
        for name, service in (
            ("Ana", "Suporte"),
            ("Caio", "Financeiro"),
            ("Beto", "Suporte"),
            ("Dani", "Suporte"),
        )
    )
    for agent in (ana, caio, beto, dani):
        set_agent_status(any_engine, agent, "available")
    for n in (1, 2, 3, 4):
        queue.enqueue(any_engine, entry_id=f"q{n}", conversation_id=f"c{n}",
                      workflow_id=f"w{n}", service_id=suporte, preview="")  # fmt: skip
    # c1: Ana transfers to Financeiro, Caio finishes; c2: abandoned; c3: Ana serves it now;
    # c4: Ana transfers to Financeiro, the customer leaves its queue
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    queue.transfer(any_engine, "q1", financeiro, "q1b")
    assert queue.claim(any_engine, "q1b", caio).code == "ok"
    queue.finish(any_engine, "q1b")
    assert queue.close_waiting(any_engine, "q2", "abandoned")
    assert queue.claim(any_engine, "q4", ana).code == "ok"
    queue.transfer(any_engine, "q4", financeiro, "q4b")
    assert queue.close_waiting(any_engine, "q4b", "abandoned")
    assert queue.claim(any_engine, "q3", ana).code == "ok"
    # c5: Dani goes silent, the care rule puts it back in line (same `enqueued_at`, an id that
    # sorts first), Beto finishes it
    queue.enqueue(any_engine, entry_id="q5z", conversation_id="c5", workflow_id="w5",
                  service_id=suporte, preview="")  # fmt: skip
    assert queue.claim(any_engine, "q5z", dani).code == "ok"
    assert care.requeue(any_engine, "q5z", "q5a")
    assert queue.claim(any_engine, "q5a", beto).code == "ok"
    queue.finish(any_engine, "q5a")
    found = labels.served_by(any_engine, ["c1", "c2", "c3", "c4", "c5", "c6"])
    assert found == {
        "c1": labels.ServedBy("Financeiro", "finished", "Caio", ["Ana", "Caio"]),
        "c2": labels.ServedBy("Suporte", "abandoned", None, []),
        "c3": labels.ServedBy("Suporte", "in_service", "Ana", ["Ana"]),
        "c4": labels.ServedBy("Financeiro", "abandoned", "Ana", ["Ana"]),
        "c5": labels.ServedBy("Suporte", "finished", "Beto", ["Dani", "Beto"]),
    }
    delete_agent(any_engine, caio)  # the entries stay, detached: the name is gone, not Ana's
    assert labels.served_by(any_engine, ["c1"])["c1"] == labels.ServedBy(
        "Financeiro", "finished", None, ["Ana"]
    )
    assert labels.served_by(any_engine, []) == {}
