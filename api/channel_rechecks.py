"""Open channel streams lose their caller's right to read, as api/agent_rechecks.py does for
agents.

A stream's caller is checked when it opens; a connector credential revoked, a web session
expired or a bot's public web chat closed since then would otherwise go on receiving every later
message of the conversation (a customer's CPF included) until it ends. So while channel streams
are open, the process looks their callers up again every `channel_credential_cache_seconds`
(every `UNCACHED_SECONDS` when that is 0): the bound a revocation made in another replica takes
for requests holds for open streams too. One lookup a period serves every stream of the
process (the live credentials among the connectors' tokens; which of the web sessions' bots
still have their web chat; the sessions' ends, read when each stream opened), and only the
streams whose caller is no longer let in are woken: 2,000 idle customer windows cost no wake-up
of their own, only a comparison each a period. A credential found revoked is forgotten by the
process's cache, so its requests (a stream resuming) are refused at once too; a web session
whose chat was closed is refused by every read route (api/channel_auth.py). The admin token
changes only with a restart, which ends every stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api import web_sessions
from api.channel_auth import ChannelClient, session_key, web_chat_open
from api.deps import parts_of
from encryption.codec import ring_of
from store import channel_credentials

log = logging.getLogger(__name__)

UNCACHED_SECONDS = 1.0
"""The period when connector credentials are not cached (`channel_credential_cache_seconds` 0)."""


@dataclass(eq=False)
class Followed:
    """One open stream's caller, and whether the last lookup still let it in."""

    caller: ChannelClient
    token: str
    wake: Callable[[], None]
    expires_at: datetime | None = None
    """A web session's end (read once, when the stream opens)."""
    let_in: bool = True


class ChannelRechecks:
    def __init__(self, engine: Engine, every: float, signing_key: bytes) -> None:
        self._engine, self._every, self._signing_key = engine, every, signing_key
        self._followed: set[Followed] = set()
        self._task: asyncio.Task[None] | None = None

    @contextmanager
    def following(
        self, caller: ChannelClient, token: str, wake: Callable[[], None]
    ) -> Iterator[Followed]:
        """While a stream of `caller` (its bearer token `token`) is open; `wake` wakes it once
        its caller is no longer let in (`Followed.let_in` then says so)."""
        followed = Followed(caller, token, wake)
        if caller.kind == "web":
            session = web_sessions.verify(self._signing_key, token)
            followed.expires_at = session.expires_at if session else datetime.now(UTC)
        if caller.kind != "admin":
            self._followed.add(followed)
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._every_period())
        try:
            yield followed
        finally:
            self._followed.discard(followed)
            if not self._followed and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _every_period(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.check()
            except SQLAlchemyError as exc:  # the streams cannot read either: the next period
                log.warning("channel streams' callers not checked again: %s", exc)
            except Exception:  # noqa: BLE001 - whatever it was, the next period checks again
                log.exception("channel streams' callers not checked again")

    async def check(self) -> None:
        """Look every open stream's caller up again; wake those no longer let in."""
        followed = list(self._followed)
        tokens = {f.token for f in followed if f.caller.kind == "connector"}
        bots = {f.caller.bot for f in followed if f.caller.kind == "web" and f.caller.bot}
        live, open_chats = await asyncio.to_thread(_lookup, self._engine, tokens, bots)
        now, revoked = datetime.now(UTC), False
        for stream in followed:
            caller = stream.caller
            if caller.kind == "connector":
                let_in = live.get(stream.token) == caller.bot
                revoked = revoked or not let_in
            else:  # a web session: not expired, its bot's web chat still open
                expires_at = stream.expires_at
                let_in = expires_at is not None and expires_at > now and caller.bot in open_chats
            if not let_in and stream.let_in:
                stream.let_in = False
                stream.wake()
        if revoked:  # revoked through another replica: this one's requests see it at once too
            channel_credentials.forget_cached()


def _lookup(engine: Engine, tokens: set[str], bots: set[str]) -> tuple[dict[str, str], set[str]]:
    live = channel_credentials.bots_of_tokens(engine, tokens)
    return live, {bot for bot in bots if web_chat_open(engine, bot)}


def channel_rechecks_of(request: Request) -> ChannelRechecks:
    """The process's rechecks (made on first use, with the app's engine, settings and ring)."""
    state = request.app.state
    if not hasattr(state, "channel_rechecks"):
        parts = parts_of(request)
        every = parts.settings.channel_credential_cache_seconds or UNCACHED_SECONDS
        key = session_key(ring_of(parts.client))
        state.channel_rechecks = ChannelRechecks(parts.engine, every, key)
    rechecks: ChannelRechecks = state.channel_rechecks
    return rechecks
