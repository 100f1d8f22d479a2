"""An agent's reply keeps its id when the workflow records it itself (a request whose write
ahead never came, or an API from before writing ahead): the agent's screens still match it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.tables import conversations
from tests.live import eventually
from tests.test_message_ids import with_ana
from workflows.contracts import AgentMessage
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio


async def test_a_reply_the_workflow_records_itself_keeps_the_agents_id(time_env, settings, engine):
    async with with_ana(time_env, settings, engine) as chat:
        http = chat.stack.http
        with engine.connect() as conn:
            wid = conn.scalar(
                sa.select(conversations.c.workflow_id).where(
                    conversations.c.id == chat.conversation
                )
            )
        request = AgentMessage(agent_id=chat.me, text="Olá!", message_id="r-9")  # no log_ahead
        handle = chat.stack.client.get_workflow_handle(wid)
        await handle.execute_update(ConversationWorkflow.agent_message, request)

        async def recorded() -> list[str | None] | None:
            read = await http.get(f"{chat.url}/messages", headers=chat.ana)
            ids = [m["message_id"] for m in read.json() if m["from"] == "agent"]
            return ids or None

        assert await eventually(recorded, "the reply, recorded by the workflow") == ["r-9"]
        path = f"/api/conversations/{chat.conversation}/messages"
        theirs = await http.get(path, headers=chat.customer)
        assert [m["message_id"] for m in theirs.json() if m["from"] == "agent"] == [None]


async def test_a_retried_reply_the_update_id_no_longer_dedupes_is_sent_once(
    time_env, settings, engine
):
    """Temporal dedupes an Update id within a run only: an agent's retry that reaches the next
    run of a conversation continued as new (here: the same reply under another Update id) is
    answered with the reply already sent, never sent to the customer again."""
    async with with_ana(time_env, settings, engine) as chat:
        with engine.connect() as conn:
            wid = conn.scalar(
                sa.select(conversations.c.workflow_id).where(
                    conversations.c.id == chat.conversation
                )
            )
        handle = chat.stack.client.get_workflow_handle(wid)
        request = AgentMessage(agent_id=chat.me, text="Olá!", message_id="r-1")
        first = await handle.execute_update(ConversationWorkflow.agent_message, request, id="u-1")
        again = await handle.execute_update(ConversationWorkflow.agent_message, request, id="u-2")
        assert again.seq == first.seq
        said = await handle.query(ConversationWorkflow.transcript, 0)
        assert [m.text for m in said if m.sender == "agent"] == ["Olá!"]
