"""A customer's transcript pages: what only agents see is left out in SQL, before the page's
limit, so a page is never emptied while messages follow."""

from __future__ import annotations

from datetime import UTC, datetime

from store.conversations import record_turn
from store.new_conversations import NewConversation
from tests.conftest import admin_headers
from workflows.contracts import Message

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_a_customers_page_is_full_even_after_agents_notes(admin_api, engine) -> None:  # type: ignore[no-untyped-def]
    new = NewConversation(
        conversation_id="c-page", workflow_id="w-page", bot="loja", bot_version=1,
        contact_id="5511", status="with_agent",
    )  # fmt: skip
    entries = [
        Message(seq=1, sender="customer", text="oi", at=AT),
        *(Message(seq=n, sender="agent", kind="note", text=f"nota {n}", at=AT) for n in (2, 3, 4)),
        Message(seq=5, sender="agent", text="Olá!", at=AT),
    ]
    record_turn(engine, "c-page", entries, new=new)
    page = await admin_api.get("/api/conversations/c-page/messages?after=1&limit=3")
    assert page.status_code == 200, page.text
    assert [m["text"] for m in page.json()] == ["Olá!"]
    everything = await admin_api.get(
        "/api/conversations/c-page/messages?after=1&limit=3", headers=admin_headers()
    )
    assert [m["text"] for m in everything.json()] == ["nota 2", "nota 3", "nota 4"]
