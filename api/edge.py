"""The API's edge, around every route: a JSON body a route's model reads holds valid text, and an
error nobody planned is still a JSON 500 whose log names no request value.

**Lone surrogates.** JSON may spell a UTF-16 surrogate without its pair (`"\\ud800"`), and
Python decodes it (also from raw bytes: `json.loads` decodes with `surrogatepass`) into a string
that cannot be written as UTF-8: not in a response, a log, SQL or a Temporal payload. No model
field can hold one, so the JSON body of every route whose body FastAPI reads into a model
(`APIRoute.body_field`) is checked here, once, as FastAPI reads it: the first such string (or
key) is a 422 `validation_error` whose `loc` names it, before the model and before a credential
the route checks in its body's dependencies. A route that reads its body itself (the channels'
webhooks, attachment uploads, the codec) is not checked here: it decides, after its own checks
(a webhook replaces lone surrogates once its signature passed, api/routes/channel_webhooks.py).
The cost stays linear: a body is parsed only when it has the bytes a lone surrogate needs, and
walked (each node once) only when the C encoder found one.

**Unexpected errors.** An exception no handler of api/errors.py maps (a bug) answers 500
`{"detail": "unexpected server error", "code": "http_error"}` and keeps the connection; one
raised after the response started (a stream, a background task) is logged the same way and
ends the response there (uvicorn closes an unfinished one). The log names the request's route
template, the exceptions' types, a few value-free attributes (api/error_log.py) and their last
frames, never their messages (a pydantic error's message quotes its input, a CPF with it). A
client that went away mid-body is no error: one line at info.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.error_log import described
from api.surrogates import SURROGATE, has_lone_surrogate, mended

log = logging.getLogger(__name__)

SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")
"""Bytes a body needs for `json.loads` to give a lone surrogate: an escape of one, a surrogate
encoded as if it were UTF-8 (invalid UTF-8 that `surrogatepass` takes), or NUL bytes (a body in
UTF-16 or UTF-32, which JSON's encoding detection accepts). Only such a body is parsed here."""
JSON_TYPE = re.compile(r"^application/([\w.+-]*\+)?json\b", re.IGNORECASE)


class LoneSurrogate(HTTPException):
    """A 422 `validation_error` about the string at `path` in the body (api/errors.py answers
    it as any coded HTTP error). Raised by the body's reader, so the route never runs."""

    code = "validation_error"  # ErrorCode.VALIDATION_ERROR (api/errors.py imports this module)

    def __init__(self, path: list[str | int]) -> None:
        item = {
            "type": "string_unicode",
            "loc": ["body", *path],
            "msg": "text with a lone UTF-16 surrogate (U+D800 to U+DFFF) is not valid Unicode",
        }
        detail: Any = [item]  # a list, as FastAPI's own 422 (Starlette types it as str)
        super().__init__(422, detail=detail)


def surrogate_at(body: bytes) -> list[str | int] | None:
    """Where the first string with a lone surrogate is in the JSON `body` (keys replaced by
    U+FFFD there, so the path can be written); None if nowhere, or if `body` is not JSON (or
    nested deeper than `json` goes: FastAPI's own answer says so)."""
    if not SUSPECT.search(body):
        return None
    try:
        value = json.loads(body)
        if not has_lone_surrogate(value):
            return None
    except (ValueError, RecursionError):  # not JSON: FastAPI's own 400/422 says so
        return None
    path, _ = locate(value)
    return path


Link = tuple[Any, str | int] | None
"""A node's place: its parent's link and its key or index (None for the whole value)."""


def locate(value: Any) -> tuple[list[str | int] | None, int]:
    """The path (in document order) of the first key or string with a lone surrogate, and how
    many nodes were visited: each once, each holding a link to its parent, never a copied path."""
    stack: list[tuple[Link, Any]] = [(None, value)]
    visited = 0
    while stack:
        link, item = stack.pop()
        visited += 1
        if isinstance(item, str):
            if SURROGATE.search(item):
                return _path(link), visited
        elif isinstance(item, dict):
            for key in reversed(list(item)):
                stack.append(((link, key), item[key]))
                stack.append(((link, key), key))  # the key, before its value
        elif isinstance(item, list):
            stack.extend(((link, n), item[n]) for n in range(len(item) - 1, -1, -1))
    return None, visited


def _path(link: Link) -> list[str | int]:
    path: list[str | int] = []
    while link is not None:
        link, key = link
        path.append(mended(key) if isinstance(key, str) else key)
    return path[::-1]


def _checked_body(scope: Scope) -> bool:
    """A JSON body (a JSON type, or none given) of a route whose model FastAPI fills from it."""
    if getattr(scope.get("route"), "body_field", None) is None:
        return False
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bool(JSON_TYPE.match(value.decode("latin-1")))
    return True


class Edge:
    """ASGI middleware around the routes and their exception handlers (inside the body limit,
    stream cap and metrics middlewares: api/errors.py `install` adds it before them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outside: list[BaseException] = []  # raised by what is outside (e.g. the body limit)
        started = False
        chunks: list[bytes] = []
        check: bool | None = None  # decided at the first read: the router has matched by then

        async def checked() -> Message:
            nonlocal check
            try:
                message = await receive()
            except Exception as exc:  # not a cancellation (a response's disconnect listener)
                outside.append(exc)
                raise
            if check is None:
                check = _checked_body(scope)
            if check and message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    path = surrogate_at(b"".join(chunks))
                    chunks.clear()
                    if path is not None:
                        raise LoneSurrogate(path)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, checked, watched)
        except Exception as exc:
            if _caused_by(exc, outside):
                raise
            await _failed(exc, started, scope, receive, send)


async def _failed(
    exc: Exception, started: bool, scope: Scope, receive: Receive, send: Send
) -> None:
    """Log `exc` without values; answer the 500 if the response has not started."""
    where = f"{scope.get('method')} {_template(scope)}"
    if isinstance(exc, ClientDisconnect):
        log.info("client went away before sending its whole body on %s", where)
    elif started:  # no answer left to give: uvicorn closes an unfinished response
        log.error(described(f"unexpected error after the response started on {where}", exc))
    else:
        log.error(described(f"unexpected error answered 500 on {where}", exc))
        await unexpected_response()(scope, receive, send)


def _caused_by(exc: BaseException, causes: list[BaseException]) -> bool:
    """Whether `exc` is, or comes from, one of `causes` (FastAPI re-raises a body's error)."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if any(seen is cause for cause in causes):
            return True
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return False


def _template(scope: Scope) -> str:
    """The route template the router matched (as the metrics name it), never the raw path."""
    from api.http_metrics import route_templates  # only when something went wrong

    route = scope.get("route")
    if route is None or "app" not in scope:
        return "(no route)"
    return route_templates(scope["app"].routes).get(id(route)) or str(getattr(route, "path", "?"))


def unexpected_response() -> JSONResponse:
    """500 `http_error` (ErrorCode.HTTP_ERROR), here and for an error outside the routes
    (ServerErrorMiddleware's handler, api/errors.py)."""
    return JSONResponse({"detail": "unexpected server error", "code": "http_error"}, 500)
