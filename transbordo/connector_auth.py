"""The in-process stack's HTTP client plays each bot's server-side connector.

Tests, conversation tests and benches talk to the channel routes the way a company's backend
does: with the bot's channel credential. `ConnectorAuth` issues one per bot on first use
(straight into SQL, as an admin would through the API) and adds it to every channel request
that carries no Authorization of its own; a request that brings its own (an agent, the admin, a
web session, nothing with `auth=None`) is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator

import httpx
from sqlalchemy import Engine

from store import channel_credentials
from store import conversations as conversation_log

BOT_ROUTE = re.compile(r"^/api/bots/([^/]+)/(messages|attachments)$")
CONVERSATION_ROUTE = re.compile(r"^/api/conversations/([^/]+)(?:/|$)")


class ConnectorAuth(httpx.Auth):
    """Bearer credentials of each bot's connector, created when first needed."""

    def __init__(self, engine: Engine | Callable[[], Engine]) -> None:
        """`engine`, or a function giving it (an app's engine exists once its lifespan ran)."""
        self._engine_of = engine if callable(engine) else lambda: engine
        self._tokens: dict[str, str] = {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "authorization" not in request.headers:
            bot = self._bot_of(request.url.path)
            if bot is not None:
                request.headers["Authorization"] = f"Bearer {self.token(bot)}"
        yield request

    def token(self, bot: str) -> str:
        """The bot's connector token (issued on first use)."""
        if bot not in self._tokens:
            _, self._tokens[bot] = channel_credentials.create(self._engine_of(), bot, "test stack")
        return self._tokens[bot]

    def _bot_of(self, path: str) -> str | None:
        if match := BOT_ROUTE.match(path):
            return match.group(1)
        if match := CONVERSATION_ROUTE.match(path):
            row = conversation_log.get_conversation(self._engine_of(), match.group(1))
            return row.bot if row is not None else None
        return None
