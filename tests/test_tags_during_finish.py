"""Tags an agent sets while a finish awaits its SQL step are never dropped in silence: they
wait for the finish and the agent is told the conversation is no longer theirs (patch
`tags-locked`). The finish's labels step is held by parking its table, which the step retries
through (a database failover looks the same to it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from store.tables import conversation_labels, conversations
from tests.test_message_ids import with_ana
from workflows.contracts import FinishRequest
from workflows.conversation import ConversationWorkflow
from workflows.desk_contracts import TagsRequest

pytestmark = pytest.mark.asyncio
ACCEPTED = WorkflowUpdateStage.ACCEPTED


async def test_tags_set_while_a_finish_records_its_labels_are_not_lost(time_env, settings, engine):
    async with with_ana(time_env, settings, engine) as chat:
        with engine.begin() as conn:
            wid = conn.scalar(
                sa.select(conversations.c.workflow_id).where(
                    conversations.c.id == chat.conversation
                )
            )
            conn.execute(sa.text("ALTER TABLE conversation_labels RENAME TO parked_labels"))
        handle = chat.stack.client.get_workflow_handle(wid)
        done = FinishRequest(agent_id=chat.me, tags=["boleto"])
        finish = await handle.start_update(
            ConversationWorkflow.finish, done, wait_for_stage=ACCEPTED
        )  # the finish holds the conversation while its labels step fails and retries
        vip = TagsRequest(agent_id=chat.me, tags=["vip"])
        tagging = await handle.start_update(
            ConversationWorkflow.set_tags, vip, wait_for_stage=ACCEPTED
        )
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE parked_labels RENAME TO conversation_labels"))
        await finish.result()
        try:
            await tagging.result()
            refused = False
        except WorkflowUpdateFailedError:
            refused = True  # "the conversation is not in service": the agent is told
        with engine.connect() as conn:
            tags = set(
                conn.scalars(
                    sa.select(conversation_labels.c.value).where(
                        conversation_labels.c.conversation_id == chat.conversation,
                        conversation_labels.c.kind == "tag",
                    )
                )
            )
        assert "boleto" in tags
        assert refused or "vip" in tags, "the tag was taken and then dropped"
