"""The Humano block on the real dev server: ops can filter the Temporal UI by queue and agent."""

from __future__ import annotations

import pytest

from tests.conftest import contact_hash, conversation_wid, pydantic_client, running_stack
from tests.live import eventually
from tests.test_handoff import flow, into_queue, publish, setup_omni

pytestmark = pytest.mark.asyncio


async def test_search_attributes_follow_the_handoff(dev_env, settings, engine):
    client = pydantic_client(dev_env)
    contact = f"ops-{settings.task_queue}"
    workflow_id = conversation_wid("loja", contact)

    async def listed(query: str):  # type: ignore[no-untyped-def]
        found = [
            e.id
            async for e in client.list_workflows(
                f'{query} AND ContactId = "{contact_hash(contact)}"'
            )
        ]
        return found or None

    async with running_stack(dev_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        conversation = (await into_queue(http, contact))["conversation_id"]
        waiting = 'ConversationStatus = "waiting" AND Service = "Suporte"'
        assert await eventually(lambda: listed(waiting), "waiting in Suporte") == [workflow_id]
        await http.post(
            f"/api/agent/conversations/{conversation}/pickup", headers=omni.agent("Ana")
        )
        with_ana = 'ConversationStatus = "in_service" AND Agent = "Ana"'
        assert await eventually(lambda: listed(with_ana), "in service with Ana") == [workflow_id]
        description = await client.get_workflow_handle(workflow_id).describe()
        summary = await description.static_summary() or ""
        assert contact_hash(contact) in summary and contact not in summary
