"""A customer message accepted while no worker answers: handed over as a Signal-with-start,
which the server stores durably, so it is processed as soon as a worker is back (202, nothing
lost: api/usecases/delivery.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from api.models.channel import TurnPublic
from store import conversations as conversation_log
from workflows.contracts import ConversationInput, CustomerMessage
from workflows.conversation import ConversationWorkflow

log = logging.getLogger(__name__)


async def by_signal(
    client: Client,
    start_input: ConversationInput,
    message: CustomerMessage,
    start_options: dict[str, Any],
    engine: Engine,
) -> TurnPublic:
    """Start (or find) the conversation with the message as its first Signal; its SQL row is
    written so transcripts and streams find it before a worker runs it."""
    handle = await client.start_workflow(
        ConversationWorkflow.run,
        start_input,
        start_signal="deliver",
        start_signal_args=[message],
        **start_options,
    )  # its failure is the request's error (api/errors.py): nothing was accepted
    log.warning("no worker answered in time; message %s accepted by signal", message.message_id)
    running = await _input_of(client, handle)
    await asyncio.to_thread(
        conversation_log.ensure_conversation,
        engine,
        conversation_id=running.conversation_id,
        workflow_id=handle.id,
        bot=running.bot,
        bot_version=running.bot_version,
        contact_id=running.contact.id,
        status="bot",
    )
    return TurnPublic(conversation_id=running.conversation_id, status="accepted", replies=[])


async def _input_of(client: Client, handle: WorkflowHandle[Any, Any]) -> ConversationInput:
    """The input the running conversation was started with (ours, or an earlier request's):
    its first history event holds it, so the id is known even with no worker running."""
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [started] = await client.data_converter.decode(payloads, [ConversationInput])
        return started  # type: ignore[no-any-return]
    raise RuntimeError(f"no history for {handle.id}")
