"""Temporal down: what an agent or a customer asks is answered 503 `temporal_unavailable` with
Retry-After (to be sent again), never "the conversation has ended" or a silent success."""

from __future__ import annotations

from datetime import UTC, datetime

from store.tables import conversations, queue_entries
from tests.conftest import admin_headers, api_client, pydantic_client
from transbordo.stack import dev_server


async def test_an_agent_and_a_customer_hear_that_temporal_is_down(settings, engine) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app

    async with dev_server() as env:
        app = create_app(settings, engine=engine, client=pydantic_client(env))
        async with api_client(app, connector=False) as api:
            made = await api.post(
                "/api/omni/services", json={"name": "Suporte"}, headers=admin_headers()
            )
            ana = await api.post(
                "/api/omni/agents",
                json={"name": "Ana", "services": ["Suporte"]},
                headers=admin_headers(),
            )
            auth = {"Authorization": f"Bearer {ana.json()['token']}"}
            now = datetime.now(UTC)
            with engine.begin() as conn:
                conn.execute(
                    conversations.insert().values(
                        id="c1", workflow_id="w1", bot="loja", bot_version=1, contact_id="5511",
                        status="with_agent", created_at=now, updated_at=now,
                    )
                )  # fmt: skip
                conn.execute(
                    queue_entries.insert().values(
                        id="q1", conversation_id="c1", workflow_id="w1",
                        service_id=made.json()["id"], status="in_service", enqueued_at=now,
                        picked_up_at=now, agent_id=ana.json()["id"],
                    )
                )  # fmt: skip
            await env.shutdown()
            said = await api.post(
                "/api/agent/conversations/c1/messages",
                json={"text": "Olá", "message_id": "a1"},
                headers=auth,
            )
            assert said.status_code == 503, said.text
            assert said.json()["code"] == "temporal_unavailable"
            assert int(said.headers["Retry-After"]) >= 1
        async with api_client(app) as customer_side:  # the bot's connector
            left = await customer_side.post("/api/conversations/c1/leave")
            assert left.status_code == 503, left.text  # not 202: the customer is still queued
            assert left.json()["code"] == "temporal_unavailable"
