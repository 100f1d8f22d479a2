"""The agent's desk routes: notes, tags, wrap-up codes, quick replies, the contact's history.

Every route needs the agent's token, and the conversation must be in one of the agent's services
(the ones that act on it: the agent must have it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status

from api.deps import AgentDep, ClientDep, EngineDep, require_agent
from api.errors import ApiError, ErrorCode
from api.models.channel import MessagePublic, public_message, public_row
from api.models.desk import (
    ConversationSummary,
    NoteBody,
    QuickReplyPublic,
    QuickReplyRendered,
    TagsBody,
    WrapUpCodes,
)
from api.usecases import agent_actions as actions
from api.usecases.desk import summaries, wrapup_now
from bots.templates import render_or_none
from omni.errors import NotFound
from store import conversations as conversation_log
from store import labels, supervision
from store import quick_replies as reply_store
from workflows.conversation import ConversationWorkflow
from workflows.desk_contracts import NoteRequest, TagsRequest

HISTORY_MESSAGES = 200
"""Transcript entries shown per earlier conversation."""

router = APIRouter(prefix="/agent", tags=["agent desk"], dependencies=[Depends(require_agent)])


_own = actions.readable_entry  # the same check as the agent routes


@router.post("/conversations/{conversation_id}/notes", response_model=MessagePublic)
async def add_note(
    conversation_id: str, body: NoteBody, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> MessagePublic:
    """An internal note: in the transcript for agents and supervisors (kind `note`), never
    for the customer."""
    entry = _own(engine, agent, conversation_id)
    request = NoteRequest(agent_id=agent.id, text=body.text)
    return public_message(await actions.update(client, entry.workflow_id, "add_note", request))


@router.put("/conversations/{conversation_id}/tags")
async def set_tags(
    conversation_id: str, body: TagsBody, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> dict[str, list[str]]:
    """The conversation's free tags (replacing the ones set before); recorded at the finish."""
    entry = _own(engine, agent, conversation_id)
    request = TagsRequest(agent_id=agent.id, tags=body.tags)
    return {"tags": await actions.update(client, entry.workflow_id, "set_tags", request)}


@router.get("/conversations/{conversation_id}/wrapup-codes", response_model=WrapUpCodes)
def wrapup_codes(conversation_id: str, agent: AgentDep, engine: EngineDep) -> WrapUpCodes:
    """The wrap-up codes of the conversation's service now, and whether the finish needs one:
    the settings the finish checks (`wrapup_now`)."""
    entry = _own(engine, agent, conversation_id)
    now = wrapup_now(engine, entry.service_id)
    return WrapUpCodes(required=now.required, codes=now.codes)


@router.get("/quick-replies", response_model=list[QuickReplyPublic])
def quick_replies(agent: AgentDep, engine: EngineDep) -> list[QuickReplyPublic]:
    """The global quick replies and those of the agent's services."""
    return reply_store.list_quick_replies(engine, agent.services)


@router.post(
    "/conversations/{conversation_id}/quick-replies/{reply_id}", response_model=QuickReplyRendered
)
async def render_quick_reply(
    conversation_id: str, reply_id: str, agent: AgentDep, engine: EngineDep, client: ClientDep
) -> QuickReplyRendered:
    """The quick reply's text with this conversation's placeholders filled in
    (`{{ contact.name }}`, the flow's variables, `{{ agent.name }}`: the agent asking), in the
    flows' template sandbox; the agent sends it (maybe edited) as a message."""
    entry = _own(engine, agent, conversation_id)
    reply = reply_store.get_quick_reply(engine, reply_id)
    if reply.service is not None and (
        reply.service not in agent.services or reply.service != entry.service_name
    ):  # another service's reply: not for this conversation
        raise NotFound(f"no quick reply {reply_id!r}")
    handle = client.get_workflow_handle(entry.workflow_id)
    context: dict[str, Any] = await handle.query(ConversationWorkflow.desk_context)
    context["agent"] = {"name": agent.name}
    text = render_or_none(reply.text, context)
    if text is None:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "the quick reply's template fails for this conversation: fix it in Respostas rápidas",
            ErrorCode.QUICK_REPLY_FAILED,
        )
    return QuickReplyRendered(id=reply.id, shortcut=reply.shortcut, text=text)


@router.get("/conversations/{conversation_id}/history", response_model=list[ConversationSummary])
def history(conversation_id: str, agent: AgentDep, engine: EngineDep) -> list[ConversationSummary]:
    """The contact's earlier conversations on the same bot (with the bot and agents, notes,
    tags and wrap-up codes), newest first, beside a conversation in the agent's services. The
    notes and whispers of one that never was in the agent's services are that service's own
    (as on the supervisor's routes): only what the customer saw of it is shown."""
    _own(engine, agent, conversation_id)
    current = conversation_log.get_conversation(engine, conversation_id)
    if current is None:
        return []
    earlier = labels.earlier_conversations(engine, current)
    services = supervision.agent_service_ids(engine, agent.id)
    transcripts = {}
    for row in earlier:
        theirs = not supervision.conversation_in_services(engine, row.id, services)
        entries = conversation_log.messages_after(
            engine, row.id, 0, HISTORY_MESSAGES, for_customer=theirs
        )
        transcripts[row.id] = [public_row(m) for m in entries]
    return summaries(engine, earlier, transcripts)
