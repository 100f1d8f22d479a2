"""An agent's reply keeps its id when the workflow records it itself (a request whose write
ahead never came, or an API from before writing ahead): the agent's screens still match it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.tables import conversations
from tests.conftest import pydantic_client
from tests.live import eventually
from tests.test_channel_identity import publish, speak, web_flow, web_session
from tests.test_handoff import setup_omni
from transbordo.stack import running
from workflows.contracts import AgentMessage
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio


async def test_a_reply_the_workflow_records_itself_keeps_the_agents_id(time_env, settings, engine):
    async with running(pydantic_client(time_env), settings, engine, served=True) as stack:
        http = stack.http
        omni = await setup_omni(http)
        await publish(http, web_flow(omni.key))
        customer = await web_session(http)
        conversation = (await speak(http, customer, "w-1", "oi")).json()["conversation_id"]
        assert (await speak(http, customer, "w-2", "1")).json()["status"] == "waiting"
        url = f"/api/agent/conversations/{conversation}"
        ana = omni.agent("Ana")
        assert (await http.post(f"{url}/pickup", headers=ana)).status_code == 200
        me = (await http.get("/api/agent/me", headers=ana)).json()["id"]
        with engine.connect() as conn:
            wid = conn.scalar(
                sa.select(conversations.c.workflow_id).where(conversations.c.id == conversation)
            )

        request = AgentMessage(agent_id=me, text="Olá!", message_id="r-9")  # no log_ahead
        handle = stack.client.get_workflow_handle(wid)
        await handle.execute_update(ConversationWorkflow.agent_message, request)

        async def recorded() -> list[str | None] | None:
            read = await http.get(f"{url}/messages", headers=ana)
            ids = [m["message_id"] for m in read.json() if m["from"] == "agent"]
            return ids or None

        assert await eventually(recorded, "the reply, recorded by the workflow") == ["r-9"]
        theirs = await http.get(f"/api/conversations/{conversation}/messages", headers=customer)
        assert [m["message_id"] for m in theirs.json() if m["from"] == "agent"] == [None]
