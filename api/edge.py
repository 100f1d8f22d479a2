"""The API's edge, around every route: a JSON body holds valid text, and an error nobody planned
is still a JSON 500 whose log names no request value.

**Lone surrogates.** JSON may spell a UTF-16 surrogate without its pair (`"\\ud800"`), and
Python decodes it (also from raw bytes: `json.loads` decodes with `surrogatepass`) into a string
that cannot be written as UTF-8: not in a response, a log, SQL or a Temporal payload. No model
field can hold one, so every JSON body is checked here, once, as the route reads it: the first
such string (or key) is a 422 `validation_error` whose `loc` names it, before any validation or
credential check, like a body that is not JSON at all.

**Unexpected errors.** An exception no handler of api/errors.py maps (a bug) answers 500
`{"detail": "unexpected server error", "code": "http_error"}` and keeps the connection; the log
names the request's route template and the exceptions' types and frames, never their messages
(a pydantic error's message quotes its input, a CPF with it).
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\x00")
"""Bytes a body needs for `json.loads` to give a lone surrogate: an escape of one, a surrogate
encoded as if it were UTF-8 (invalid UTF-8 that `surrogatepass` takes), or NUL bytes (a body in
UTF-16 or UTF-32, which JSON's encoding detection accepts). Only such a body is parsed here."""
SURROGATE = re.compile("[\ud800-\udfff]")
"""In a decoded string every surrogate is a lone one: a pair of escapes decodes to one character."""
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
    U+FFFD there, so the path can be written); None if nowhere, or if `body` is not JSON."""
    if not SUSPECT.search(body):
        return None
    try:
        value = json.loads(body)
    except ValueError:  # not JSON: FastAPI's own 422 (or the route's) says so
        return None
    for path, text in _strings(value):
        if SURROGATE.search(text):
            return [SURROGATE.sub("\ufffd", p) if isinstance(p, str) else p for p in path]
    return None


def _strings(value: Any) -> Iterator[tuple[list[str | int], str]]:
    """Every key and string in `value` with its path (iterative: depth is JSON's own limit)."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield [*path, key], key
                stack.append(([*path, key], child))
        elif isinstance(item, list):
            stack.extend(([*path, n], child) for n, child in enumerate(item))


def _is_json(scope: Scope) -> bool:
    """A body FastAPI reads as JSON (a JSON type, or none given)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bool(JSON_TYPE.match(value.decode("latin-1")))
    return True


class Edge:
    """ASGI middleware around the routes and their exception handlers (inside the body limit,
    shedding and metrics middlewares: api/errors.py `install` adds it before them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outside: list[BaseException] = []  # raised by what is outside (e.g. the body limit)
        started = False
        chunks: list[bytes] = []
        check = _is_json(scope)

        async def checked() -> Message:
            try:
                message = await receive()
            except BaseException as exc:
                outside.append(exc)
                raise
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
            if started or _caused_by(exc, outside):
                raise
            _log_unexpected(scope, exc)
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


def _log_unexpected(scope: Scope, exc: BaseException) -> None:
    """The route template, the exceptions' types and their frames: no message, no value."""
    lines = [f"unexpected error answered 500 on {scope.get('method')} {_template(scope)}"]
    seen: BaseException | None = exc
    shown: set[int] = set()
    while seen is not None and id(seen) not in shown:
        shown.add(id(seen))
        lines.append(f"{type(seen).__module__}.{type(seen).__qualname__}, raised at:")
        lines.extend(traceback.StackSummary.extract(traceback.walk_tb(seen.__traceback__)).format())
        seen = seen.__cause__ or seen.__context__
        if seen is not None and id(seen) not in shown:
            lines.append("while handling (or caused by):")
    log.error("\n".join(line.rstrip("\n") for line in lines))


def _template(scope: Scope) -> str:
    """The route template the router matched (as the metrics name it), never the raw path."""
    from api.http_metrics import _templates  # only when something went wrong

    route = scope.get("route")
    if route is None or "app" not in scope:
        return "(no route)"
    return _templates(scope["app"].routes).get(id(route)) or str(getattr(route, "path", "?"))


def unexpected_response() -> JSONResponse:
    """500 `http_error` (ErrorCode.HTTP_ERROR), here and for an error outside the routes
    (ServerErrorMiddleware's handler, api/errors.py)."""
    return JSONResponse({"detail": "unexpected server error", "code": "http_error"}, 500)
