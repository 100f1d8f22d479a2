"""Every HTTP error answers `{"detail": ..., "code": ...}`: one handler per family, set up here.

`detail` is for people and logs (English, may be reworded; a list for validation and flow
errors). `code` is the contract: the pages say each code in pt-BR (`CODES_PT` in
api/static/js/common.js) and never read `detail`. The codes come from three enumerations:

    Refusal   (workflows/refusals.py)  a conversation said no         status: HTTP_STATUS
    OmniCode  (omni/errors.py)         the Omni store said no         NotFound 404, Conflict
                                                                      409, InvalidReference
                                                                      and InvalidName 422,
                                                                      Stale 412
    ErrorCode (here)                   the API's own: auth, validation, unknown bot, ...

A value appears in two of them only with the same meaning (`bad_request`, `not_found`,
`conflict`, `validation_error`). The list with statuses is in docs/architecture.md, "Errors".
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.edge import Edge, unexpected_response
from api.preconditions import etag
from api.rate_limits import RateLimited
from api.usecases.delivery import MessageRejected, UnknownBot
from api.usecases.publishing import PublishError
from api.validation_errors import short_error
from omni.errors import (
    Conflict,
    InvalidName,
    InvalidReference,
    NotFound,
    OmniCode,
    OmniError,
    Stale,
)
from store.bots import VersionMismatch
from workflows.refusals import HTTP_STATUS, Refusal, refusal_of

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """The API's own codes (the workflow's are `Refusal`, the Omni store's `OmniCode`)."""

    BAD_REQUEST = "bad_request"
    """A malformed request the validation did not catch (e.g. a bad Last-Event-ID)."""
    UNAUTHORIZED = "unauthorized"
    """No credential, or not the one this route needs (401)."""
    FORBIDDEN = "forbidden"
    """A 403 with no more specific code."""
    NOT_FOUND = "not_found"
    """A 404 with no more specific code (e.g. an unknown path)."""
    CONFLICT = "conflict"
    """A 409 with no more specific code."""
    VALIDATION_ERROR = "validation_error"
    """The request does not fit its model: `detail` is the list of `{loc, msg, type}`."""
    FLOW_INVALID = "flow_invalid"
    """A bot's YAML has problems: `detail` is the list of `{line, column, message, code?}`."""
    UNKNOWN_BOT = "unknown_bot"
    """No bot is published by that name."""
    CHANGED_SINCE_READ = "changed_since_read"
    """`If-Match` names a bot version that is no longer the newest: read it again (412)."""
    NO_WEB_CHAT = "no_web_chat"
    """The bot is not published, or its flow does not enable `channels.web`."""
    UNKNOWN_CONVERSATION = "unknown_conversation"
    """No conversation has that id."""
    NOT_WITH_HUMAN_SERVICE = "not_with_human_service"
    """An agent route on a conversation that is neither waiting nor with an agent."""
    NOTHING_WAITING = "nothing_waiting"
    """`POST /agent/next` found no conversation the agent may take."""
    SERVICE_GONE = "service_gone"
    """The conversation's service was deleted."""
    MESSAGE_REJECTED = "message_rejected"
    """The conversation refused a customer message for a reason with no code of its own."""
    PAYLOAD_TOO_LARGE = "payload_too_large"
    """The request body (or what it would put in a conversation) is over its limit (413)."""
    RATE_LIMITED = "rate_limited"
    """Too many requests, or too many open streams, from this address/contact/bot (429)."""
    TOO_MANY_SESSIONS = "too_many_sessions"
    """Too many new web-chat sessions from this client address (429; `sessions per address`)."""
    OVERLOADED = "overloaded"
    """This API process has too many Temporal calls in flight: try again after Retry-After (503)."""
    ATTACHMENT_TYPE = "attachment_type"
    """An attachment whose first bytes are not an accepted type (415)."""
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    """An attachment over `attachment_max_bytes` (413; `max_bytes` says the limit)."""
    ATTACHMENT_EMPTY = "attachment_empty"
    """An attachment with no bytes (422)."""
    ATTACHMENT_PENDING = "attachment_pending"
    """A channel's media still being fetched (409: the screen tries again)."""
    ATTACHMENT_UNAVAILABLE = "attachment_unavailable"
    """A channel's media that could not be fetched (409: it will not come)."""
    NOT_A_SUPERVISOR = "not_a_supervisor"
    """A supervisor route called with the token of an agent who is not a supervisor (403)."""
    OUTSIDE_SUPERVISOR_SCOPE = "outside_supervisor_scope"
    """A supervisor acting on a conversation, agent or service outside its services (403)."""
    CONVERSATION_ENDING = "conversation_ending"
    """The contact's conversation is still closing: send the same message after Retry-After."""
    TEMPORAL_UNAVAILABLE = "temporal_unavailable"
    """Temporal did not answer (down, restarting, unreachable): retry after Retry-After (503)."""
    TEMPORAL_REFUSED = "temporal_refused"
    """Temporal refused the call for good (a deployment's problem, e.g. a search attribute
    missing in the namespace): sending it again would not help; the log says why (500)."""
    QUICK_REPLY_FAILED = "quick_reply_failed"
    """A quick reply whose template fails for this conversation (an error, an over-long text):
    the agent is told, instead of getting an empty box (422)."""
    HTTP_ERROR = "http_error"
    """Any other HTTP status (e.g. 405); 500: an error nobody planned (api/edge.py)."""


Code = ErrorCode | Refusal | OmniCode

STATUS_CODE: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.RATE_LIMITED,
}
"""The code of an error raised without one."""

OMNI_STATUS: dict[type[OmniError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidReference: 422,
    InvalidName: 422,
    Stale: 412,
}


class ApiError(HTTPException):
    """An HTTP error with its code; raise it in api/ where a route or use case refuses."""

    def __init__(
        self,
        status_code: int,
        detail: Any,
        code: Code,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status_code, detail=detail, headers=headers)
        self.code = code
        self.extra = extra or {}
        """Fields the body carries besides `detail` and `code` (e.g. a limit a page says)."""


def field_error(field: str, kind: str, msg: str, ctx: dict[str, Any] | None = None) -> ApiError:
    """A 422 about one body field, shaped like FastAPI's own (`loc`, `type`, `msg`, `ctx`), so
    the forms show it next to that field and say `type` in pt-BR with the values in `ctx`."""
    item: dict[str, Any] = {"type": kind, "loc": ["body", field], "msg": msg}
    if ctx is not None:
        item["ctx"] = ctx
    return ApiError(422, [item], ErrorCode.VALIDATION_ERROR)


def error_body(detail: Any, code: str) -> dict[str, Any]:
    return {"detail": jsonable_encoder(detail), "code": str(code)}


def code_of(exc: HTTPException) -> str:
    """The error's own code; else the refusal it was raised from (`raise ... from` an Update
    failure); else the code of its status."""
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    refusal = _refusal_in(exc)
    if refusal is not None:
        return refusal.value
    return STATUS_CODE.get(exc.status_code, ErrorCode.HTTP_ERROR).value


def _refusal_in(exc: BaseException) -> Refusal | None:
    seen: BaseException | None = exc
    while seen is not None:
        refusal = refusal_of(seen)
        if refusal is None and isinstance(seen, WorkflowUpdateFailedError):
            refusal = refusal_of(seen.cause)
        if refusal is not None:
            return refusal
        seen = seen.__cause__
    return None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    body = {**jsonable_encoder(getattr(exc, "extra", {})), **error_body(exc.detail, code_of(exc))}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The list of problems, each without a long or personal `input` (api/validation_errors.py)."""
    assert isinstance(exc, RequestValidationError)
    errors = [short_error(error) for error in exc.errors()]
    return JSONResponse(error_body(errors, ErrorCode.VALIDATION_ERROR), status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """An error in a middleware outside api/edge.py's (whose own 500 covers the routes)."""
    return unexpected_response()


def too_large(detail: str) -> JSONResponse:
    """A 413 in the house shape (the body-size middleware answers with it too)."""
    return JSONResponse(error_body(detail, ErrorCode.PAYLOAD_TOO_LARGE), status_code=413)


LIMIT_CODES: dict[str, ErrorCode] = {"sessions per address": ErrorCode.TOO_MANY_SESSIONS}
"""Rules (api/limits.py) with a code of their own; every other limit is `rate_limited`."""


def rate_limited(exc: RateLimited) -> JSONResponse:
    """A 429 that says which limit (`limit`: the rule's name, so a page can tell the customer
    whose pace it is, theirs or the bot's) and when to try again (`Retry-After`, in seconds)."""
    body = error_body(str(exc), LIMIT_CODES.get(exc.scope, ErrorCode.RATE_LIMITED))
    return JSONResponse(
        {**body, "limit": exc.scope},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return rate_limited(exc)


REFUSED_STATUSES = frozenset(
    {
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.PERMISSION_DENIED,
        RPCStatusCode.UNAUTHENTICATED,
        RPCStatusCode.UNIMPLEMENTED,
        RPCStatusCode.OUT_OF_RANGE,
    }
)
"""RPC refusals a retry would only repeat: how Temporal is set up (a search attribute missing,
a namespace the credentials may not use). Any other failure may not recur a moment later
(Temporal down, restarting, overloaded; a run that just closed, not yet ready): a 503."""


async def _rpc_error(request: Request, exc: Exception) -> JSONResponse:
    """Temporal refused what the request would store: too large is the client's 413; a refusal
    of how Temporal is set up (`REFUSED_STATUSES`) a 500 `temporal_refused`, which a retry would
    only repeat; anything else (Temporal not answering, a rate limit, a run that just closed)
    a 503 to send again. Logged once, with Temporal's words."""
    assert isinstance(exc, RPCError)
    if is_too_large(exc):
        return too_large("the message makes the conversation larger than Temporal accepts")
    if exc.status not in REFUSED_STATUSES:
        log.error("Temporal RPC failed (%s): %s", exc.status.name, exc.message)
        return temporal_unavailable()
    log.error("Temporal refused a call (%s): %s", exc.status.name, exc.message)
    detail = "Temporal refused the request (the API's log says why)"
    return JSONResponse(error_body(detail, ErrorCode.TEMPORAL_REFUSED), 500)


TEMPORAL_RETRY_SECONDS = 5


def temporal_unavailable() -> JSONResponse:
    """503: Temporal did not answer; the request may be sent again (Retry-After)."""
    return JSONResponse(
        error_body("Temporal did not answer", ErrorCode.TEMPORAL_UNAVAILABLE),
        503,
        headers={"Retry-After": str(TEMPORAL_RETRY_SECONDS)},
    )


async def _no_answer(request: Request, exc: Exception) -> JSONResponse:
    """An Update no worker answered within the server's deadline (workers down): 503."""
    log.error("no worker answered an Update in time: %s", exc)
    return temporal_unavailable()


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL's text cannot hold the NUL character: a value with one is the client's 422
    (SQLite takes it; the message log replaces it, store/conversations.py)."""
    assert isinstance(exc, DataError)
    if "NUL" in str(exc.orig):
        body = error_body("text may not contain the NUL character (\\u0000)", ErrorCode.BAD_REQUEST)
        return JSONResponse(body, 422)
    raise exc


def is_too_large(exc: BaseException) -> bool:
    """gRPC's "message larger than max", or the server's blob size limit (its
    RESOURCE_EXHAUSTED for a rate limit is not: Temporal overloaded, a 503)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        lowered = text.lower()  # RESOURCE_EXHAUSTED alone is also a rate limit: a 503
        too_big = ("larger than max", "blobsizelimit", "blob size", "size exceeds limit")
        if any(words in lowered for words in too_big):
            return True
        seen = seen.__cause__ or getattr(seen, "cause", None)
    return False


async def _omni_error(request: Request, exc: Exception) -> JSONResponse:
    """A bad reference or name is a 422 shaped like FastAPI's own (the field in `loc`)."""
    assert isinstance(exc, OmniError)
    status = next((s for kind, s in OMNI_STATUS.items() if isinstance(exc, kind)), 400)
    detail: Any = str(exc)
    if isinstance(exc, InvalidReference | InvalidName):
        kind = "invalid_reference" if isinstance(exc, InvalidReference) else "invalid_name"
        detail = [{"type": kind, "loc": ["body", exc.field], "msg": exc.message}]
    headers = {"ETag": etag(exc.current)} if isinstance(exc, Stale) else None
    body = {**jsonable_encoder(exc.extra), **error_body(detail, exc.code)}
    return JSONResponse(body, status_code=status, headers=headers)


async def _version_mismatch(request: Request, exc: Exception) -> JSONResponse:
    """A bot's `If-Match` named an older version: 412 with the newest one (and its ETag)."""
    assert isinstance(exc, VersionMismatch)
    body = {"version": exc.current, **error_body(str(exc), ErrorCode.CHANGED_SINCE_READ)}
    return JSONResponse(body, status_code=412, headers={"ETag": etag(exc.current)})


async def _refused_update(request: Request, exc: Exception) -> JSONResponse:
    """A workflow refusal that reached a route: its status from `HTTP_STATUS`."""
    assert isinstance(exc, WorkflowUpdateFailedError)
    if is_too_large(exc):
        return too_large("the message makes the conversation larger than Temporal accepts")
    refusal = _refusal_in(exc)
    message = getattr(exc.cause, "message", str(exc.cause))
    if refusal is None:
        return JSONResponse(error_body(message, ErrorCode.CONFLICT), status_code=409)
    return JSONResponse(error_body(message, refusal), status_code=HTTP_STATUS[refusal])


async def _flow_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PublishError)
    return JSONResponse(error_body(exc.issues, ErrorCode.FLOW_INVALID), status_code=422)


async def _unknown_bot(request: Request, exc: Exception) -> JSONResponse:
    detail = f"no bot named {str(exc)!r} is published"
    return JSONResponse(error_body(detail, ErrorCode.UNKNOWN_BOT), status_code=404)


async def _message_rejected(request: Request, exc: Exception) -> JSONResponse:
    if is_too_large(exc):
        return too_large("the message makes the conversation larger than Temporal accepts")
    assert isinstance(exc, MessageRejected)
    if exc.retry_after is not None:  # not refused for good: the same message, a moment later
        body = error_body(str(exc), ErrorCode.CONVERSATION_ENDING)
        return JSONResponse(body, 503, headers={"Retry-After": str(exc.retry_after)})
    code = _refusal_in(exc) or ErrorCode.MESSAGE_REJECTED
    return JSONResponse(error_body(str(exc), code), status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers: HTTP errors, validation, and the domain errors routes let through;
    and the edge (api/edge.py: a model's JSON body with lone surrogates refused, a bug a JSON
    500; shedding adds its own handler, api/shedding.py)."""
    app.add_middleware(Edge)  # added before limits' and metrics' middlewares: inside them
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OmniError, _omni_error)
    app.add_exception_handler(WorkflowUpdateFailedError, _refused_update)
    app.add_exception_handler(PublishError, _flow_invalid)
    app.add_exception_handler(VersionMismatch, _version_mismatch)
    app.add_exception_handler(UnknownBot, _unknown_bot)
    app.add_exception_handler(MessageRejected, _message_rejected)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(RPCError, _rpc_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError, _no_answer)
