"""The API process remembers which workflow holds a contact's open conversation
(api/usecases/open_conversations.py), so a turn skips the SQL lookup. The hint is never the
truth: once the conversation ended without a turn telling this process (the customer left),
a retried message still gets its recorded answer and a new message starts a new conversation.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from api.usecases import open_conversations
from tests.conftest import conversation_wid, pydantic_client, running_stack
from workflows.conversation import ConversationWorkflow

pytestmark = pytest.mark.asyncio

LOJA_YAML = (Path(__file__).resolve().parents[1] / "flows" / "loja.yaml").read_text("utf-8")


def say(contact: str, message_id: str, text: str) -> dict[str, str]:
    return {"contact_id": contact, "message_id": message_id, "text": text}


async def test_a_stale_hint_falls_back_to_sql(dev_env, settings, engine):  # type: ignore[no-untyped-def]
    contact = f"hint-{uuid.uuid4().hex[:8]}"
    client = pydantic_client(dev_env)
    async with running_stack(dev_env, settings, engine, LOJA_YAML) as http:
        first = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
        assert first.status_code == 200, first.text
        old = first.json()
        wid = conversation_wid("loja", contact)
        assert open_conversations.get(engine, "loja", contact) == wid
        again = await http.post("/api/bots/loja/messages", json=say(contact, "m2", "3"))
        assert again.json()["conversation_id"] == old["conversation_id"]

        left = await http.post(f"/api/conversations/{old['conversation_id']}/leave")
        assert left.status_code == 202
        await client.get_workflow_handle_for(ConversationWorkflow.run, wid).result()
        assert open_conversations.get(engine, "loja", contact) == wid  # stale now

        retried = await http.post("/api/bots/loja/messages", json=say(contact, "m1", "oi"))
        assert retried.status_code == 200, retried.text
        assert retried.json() == old  # the recorded answer, not a new conversation
        fresh = await http.post("/api/bots/loja/messages", json=say(contact, "m3", "oi"))
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["conversation_id"] != old["conversation_id"]
        assert open_conversations.get(engine, "loja", contact) == wid
