"""The desk's admin routes: quick replies ("respostas rápidas"). Admin token only (the
supervisor's search of conversations by tag and wrap-up code is in api/routes/supervisor.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from api.deps import EngineDep, require_admin
from api.errors import field_error
from api.models.desk import (
    QuickReplyCreate,
    QuickReplyPublic,
    QuickReplyUpdate,
)
from api.preconditions import IfMatch, accepted_revisions, set_etag
from bots.templates import template_error
from store import quick_replies as reply_store

router = APIRouter(tags=["desk admin"], dependencies=[Depends(require_admin)])


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
def get_quick_reply(reply_id: str, engine: EngineDep, response: Response) -> QuickReplyPublic:
    found = reply_store.get_quick_reply(engine, reply_id)
    set_etag(response, found.revision)
    return found


@router.patch(
    "/omni/quick-replies/{reply_id}",
    response_model=QuickReplyPublic,
    responses={412: {"description": "`If-Match` names an older `revision`."}},
)
def update_quick_reply(
    reply_id: str,
    body: QuickReplyUpdate,
    engine: EngineDep,
    response: Response,
    if_match: IfMatch = None,
) -> QuickReplyPublic:
    """Change the fields sent; 422 if the new text is no valid template; 409 if the new
    shortcut is taken in its scope; 412 with a stale `If-Match` (its `revision` as ETag)."""
    if body.text is not None:
        _check_template(body.text)
    changed = reply_store.update_quick_reply(
        engine, reply_id, body, expected=accepted_revisions(if_match)
    )
    set_etag(response, changed.revision)
    return changed


def _check_template(text: str) -> None:
    """A template error is the admin's to fix now, not each agent's at the first use: a 422 on
    `text` (type `invalid_template`, the engine's words in `ctx.error`) for the form's Texto."""
    error = template_error(text)
    if error is not None:
        reason = error.removeprefix("template error: ")
        raise field_error("text", "invalid_template", error, {"error": reason})


@router.delete("/omni/quick-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_quick_reply(reply_id: str, engine: EngineDep) -> Response:
    reply_store.delete_quick_reply(engine, reply_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
