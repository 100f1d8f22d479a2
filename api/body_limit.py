"""Request bodies over their route's limit are refused (413) while they stream in, unparsed.

A pure ASGI middleware: a `Content-Length` over the limit is answered before one byte is read;
a chunked (or lying) body is counted as it arrives and cut off at the limit, so no route ever
buffers more than its limit. The limits are settings (docs/limits.md): the public channel
routes are small, a bot's YAML PUT is the flow's byte limit plus some slack (so the flow's own
422 can name the limit), the Temporal UI's codec calls a history's batch, anything else has the
default.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import too_large
from transbordo.settings import Settings

CHANNEL_PATHS = re.compile(r"^/api/(bots/[^/]+/(messages|web-sessions)|conversations/.*)$")
"""The public channel routes (customers' messages, their conversations, web-chat sessions)."""
BOT_YAML = re.compile(r"^/api/bots/[^/]+$")
ATTACHMENTS = re.compile(r"^/api/(bots|agent/conversations)/[^/]+/attachments$")
"""The upload routes of attachments: their own, larger limit (`attachment_max_bytes`)."""
CODEC = re.compile(r"^/api/codec/(encode|decode)$")
CODEC_MAX_BYTES = 6 * 1024 * 1024
"""The Temporal UI's codec calls (admins only, checked before the body is read): a batch of a
history's payloads, at most Temporal's 4 MiB gRPC message, in base64 inside JSON."""


def body_limit(settings: Settings, method: str, path: str) -> int:
    """The most bytes a request to `method path` may carry."""
    if method == "POST" and ATTACHMENTS.match(path):
        return settings.attachment_max_bytes + settings.bot_body_slack_bytes
    if method == "POST" and CODEC.match(path):
        return CODEC_MAX_BYTES
    if CHANNEL_PATHS.match(path):
        return settings.channel_body_max_bytes
    if method == "PUT" and BOT_YAML.match(path):
        return settings.flow_max_bytes + settings.bot_body_slack_bytes
    return settings.body_max_bytes


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Wraps the app: counts each request's body against `body_limit`."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(self.settings, scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            """Once the body went over, whatever the app answers becomes the 413."""
            nonlocal started
            if over:
                if not started and message["type"] == "http.response.start":
                    started = True
                    await too_large(_detail(limit))(scope, _nothing, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            if not started:
                await too_large(_detail(limit))(scope, _nothing, send)
                started = True
        if over and not started:
            await too_large(_detail(limit))(scope, _nothing, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _detail(limit: int) -> str:
    return f"the request body is larger than this route accepts ({limit} bytes)"


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    await too_large(_detail(limit))(scope, receive, send)


async def _nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}
