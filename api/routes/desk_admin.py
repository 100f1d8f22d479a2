"""The desk's admin routes: quick replies ("respostas rápidas") and the supervisor's search of
conversations by tag and wrap-up code. Admin token only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import EngineDep, require_admin
from api.errors import ApiError, ErrorCode
from api.models.desk import (
    ConversationSummary,
    QuickReplyCreate,
    QuickReplyPublic,
    QuickReplyUpdate,
)
from api.usecases.desk import summaries
from bots.templates import template_error
from store import labels
from store import quick_replies as reply_store

router = APIRouter(tags=["desk admin"], dependencies=[Depends(require_admin)])

Filter = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get("/omni/quick-replies", response_model=list[QuickReplyPublic])
def list_quick_replies(engine: EngineDep) -> list[QuickReplyPublic]:
    return reply_store.list_quick_replies(engine)


@router.post(
    "/omni/quick-replies", status_code=status.HTTP_201_CREATED, response_model=QuickReplyPublic
)
def create_quick_reply(body: QuickReplyCreate, engine: EngineDep) -> QuickReplyPublic:
    """A quick reply, global (no `service`) or of one service; 409 if its shortcut is taken
    there; 422 if its text is no valid template."""
    _check_template(body.text)
    return reply_store.create_quick_reply(engine, body)


@router.get("/omni/quick-replies/{reply_id}", response_model=QuickReplyPublic)
def get_quick_reply(reply_id: str, engine: EngineDep) -> QuickReplyPublic:
    return reply_store.get_quick_reply(engine, reply_id)


@router.patch("/omni/quick-replies/{reply_id}", response_model=QuickReplyPublic)
def update_quick_reply(
    reply_id: str, body: QuickReplyUpdate, engine: EngineDep
) -> QuickReplyPublic:
    """Change the fields sent; 422 if the new text is no valid template."""
    if body.text is not None:
        _check_template(body.text)
    return reply_store.update_quick_reply(engine, reply_id, body)


def _check_template(text: str) -> None:
    """A template error is the admin's to fix now, not each agent's at the first use."""
    error = template_error(text)
    if error is not None:
        raise ApiError(422, f"text: {error}", ErrorCode.VALIDATION_ERROR)


@router.delete("/omni/quick-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_quick_reply(reply_id: str, engine: EngineDep) -> Response:
    reply_store.delete_quick_reply(engine, reply_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/supervisor/conversations", response_model=list[ConversationSummary])
def search_conversations(
    engine: EngineDep,
    tag: Filter = None,
    wrapup_code: Filter = None,
    service: Filter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ConversationSummary]:
    """Conversations by tag and/or wrap-up code (of one service, when given), newest first."""
    rows = labels.search(engine, tag=tag, wrapup_code=wrapup_code, service=service, limit=limit)
    return summaries(engine, rows)
