"""Which earlier messages answer a customer's message id again: only the customer's own, and
for a connector's lookback only conversations a platform's retry can still reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from store import conversations as conversation_log
from store.answered import RETRY_HORIZON, answered_lately
from store.new_conversations import NewConversation
from store.tables import conversations
from workflows.contracts import Message

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AGENTS = "agent:agt_ana:r-1"


def _conversation(engine: sa.Engine, conversation_id: str, *entries: Message) -> None:
    new = NewConversation(
        conversation_id=conversation_id, workflow_id=f"w-{conversation_id}", bot="loja",
        bot_version=1, contact_id="5511", status="bot",
    )  # fmt: skip
    conversation_log.record_turn(engine, conversation_id, list(entries), new=new)


async def test_a_customer_message_id_shaped_like_an_agents_reply_is_a_422(admin_api) -> None:  # type: ignore[no-untyped-def]
    """Its Update would take the agent's reply's id: Temporal would answer with that reply."""
    body = {"contact_id": "5511", "message_id": AGENTS, "text": "oi"}
    refused = await admin_api.post("/api/bots/loja/messages", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "validation_error"


def test_an_agents_reply_never_answers_a_customers_message(any_engine: sa.Engine) -> None:
    _conversation(
        any_engine,
        "c1",
        Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT),
        Message(seq=2, sender="agent", text="Olá!", message_id=AGENTS, at=AT),
    )
    assert conversation_log.answer_of(any_engine, "loja", "5511", AGENTS) is None
    assert not answered_lately(any_engine, "loja", "5511", AGENTS)
    assert conversation_log.answer_of(any_engine, "loja", "5511", "m1") is not None
    assert answered_lately(any_engine, "loja", "5511", "m1")


def test_a_connectors_lookback_ends_at_the_platforms_retry_horizon(any_engine: sa.Engine) -> None:
    """A conversation last active before any platform could still resend its messages is not
    searched: the lookup does not grow with the contact's history."""
    _conversation(
        any_engine, "c-old", Message(seq=1, sender="customer", text="oi", message_id="m1", at=AT)
    )
    _conversation(
        any_engine, "c-new", Message(seq=1, sender="customer", text="oi", message_id="m2", at=AT)
    )
    long_ago = datetime.now(UTC) - RETRY_HORIZON - timedelta(hours=1)
    with any_engine.begin() as conn:
        conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == "c-old")
            .values(updated_at=long_ago)
        )
    assert not answered_lately(any_engine, "loja", "5511", "m1")
    assert answered_lately(any_engine, "loja", "5511", "m2")
