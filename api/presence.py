"""Agent presence: the status follows the agent's screen (`agent_presence_timeout_seconds`).

An agent is seen while an agent stream of it is open in this process, and when it calls an
agent route (every route that authenticates an agent: api/deps.py `require_agent`, which notes
the agent's id in memory once its token is checked: no SQL, no FastAPI dependency of its own;
the screen polls `GET /api/agent/queue` every 2 s when it has no stream). Each API process,
every sixth of the timeout (`Presence.run`, started by api/app.py's lifespan):

1. writes the tick's instant as `last_seen_at` of the agents it streams to or heard from since
   the last tick, in one statement (store/presence.py `mark_seen`), so every process sees it
   (a failed write keeps them for the next tick);
2. sweeps: every agent not offline, neither seen nor changed status for the timeout, is set
   offline (store/presence.py: one conditional UPDATE, harmless when every process runs it)
   and, as after its own "Offline", its open offers are withdrawn and go to the next agents.

So an agent whose screen is gone is set offline between 5/6 of the timeout and 4/3 of it after
the screen was last there (75–120 s at the default 90 s). Its conversations in service stay
with it (a supervisor may reassign them); it comes back offline and chooses its status again,
told why (the stream's `status` event carries `reason: unseen`).

A screen whose network vanished without closing (a laptop lid closed, Wi-Fi lost) counts as
there until the server gives up on its stream: the stream's next keep-alive (within 15 s,
api/sse.py) goes unacknowledged and the kernel drops the connection `tcp_user_timeout_seconds`
(30 s) later (api/coalesced_http.py). So its stream ends within ~45 s, and the agent is offline
within about 2¾ minutes of its network going (Linux alone would retransmit for ~15 minutes
first).

A process sweeps only once it has been up for the timeout (at least one minute, at most two):
after an outage longer than the timeout every agent looks unseen, and the screens still open
need a while to come back (a background tab's retries are throttled to one a minute).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from api.usecases import offers as offer_actions
from store import presence as presence_store
from store.common import now

logger = logging.getLogger(__name__)

TICKS_PER_TIMEOUT = 6
RECONNECT_GRACE_SECONDS = (60.0, 120.0)
"""The least and the most a restarted process waits before it sweeps: long enough for the
screens still open to reconnect after an outage (a background tab's retries are throttled to
one a minute)."""


class Presence:
    """This process's view of which agent screens are there (one per app)."""

    def __init__(self, engine: Engine, timeout_seconds: float) -> None:
        self.engine = engine
        self.timeout = timeout_seconds
        self.every = timeout_seconds / TICKS_PER_TIMEOUT
        """How often the process writes the agents it saw and sweeps."""
        self._streams: Counter[str] = Counter()
        self._heard: set[str] = set()
        """Ids of the agents authenticated here since the last tick (real agents only)."""
        grace = min(max(timeout_seconds, RECONNECT_GRACE_SECONDS[0]), RECONNECT_GRACE_SECONDS[1])
        self.sweeps_from = now() + timedelta(seconds=grace)
        """The first instant this process sweeps: a timeout after it started, within
        RECONNECT_GRACE_SECONDS (a process restarted more often than a long timeout still
        sweeps)."""

    @property
    def on(self) -> bool:
        return self.timeout > 0

    @contextmanager
    def following(self, agent_id: str) -> Iterator[None]:
        """While an agent stream of `agent_id` is open here."""
        self._streams[agent_id] += 1
        try:
            yield
        finally:
            self._streams[agent_id] -= 1
            if self._streams[agent_id] <= 0:
                del self._streams[agent_id]

    def streaming(self, agent_id: str) -> bool:
        """Whether an agent stream of `agent_id` is open in this process."""
        return agent_id in self._streams

    def heard(self, agent_id: str) -> None:
        """An agent request, its token checked (no I/O: the next tick writes)."""
        if self.on:
            self._heard.add(agent_id)

    async def tick(self, client: Client, at: datetime | None = None) -> list[str]:
        """Write the agents streaming here or heard from seen at `at` (default now), then
        sweep (from `sweeps_from` on); the ids of the agents set offline (none when presence
        is off)."""
        if not self.on:
            return []
        at = at or now()
        seen, self._heard = self._heard | set(self._streams), set()
        try:
            await asyncio.to_thread(presence_store.mark_seen, self.engine, seen, at)
        except BaseException:
            self._heard |= seen  # written with the next tick; this process does not sweep now
            raise
        if at < self.sweeps_from:
            return []
        return await sweep(self.engine, client, self.timeout, at)

    async def run(self, client: Client) -> None:
        """For the API's life: `tick` every `every` seconds."""
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.tick(client)
            except Exception:  # noqa: BLE001 - the next round tries again
                logger.exception("agent presence sweep failed")


async def sweep(engine: Engine, client: Client, timeout_seconds: float, at: datetime) -> list[str]:
    """Set the agents unseen for `timeout_seconds` before `at` offline, then do what a manual
    "Offline" does after its status change (api/routes/agent.py `set_status`): withdraw each
    one's open offers, which go to the next agents. The ids set offline."""
    gone = await asyncio.to_thread(presence_store.set_unseen_offline, engine, timeout_seconds, at)
    for agent_id in gone:
        await offer_actions.withdraw(engine, client, agent_id)
    return gone


def presence_of(app: FastAPI) -> Presence:
    """The app's presence (made on first use, with its engine and settings)."""
    state = app.state
    if not hasattr(state, "presence"):
        state.presence = Presence(state.engine, state.settings.agent_presence_timeout_seconds)
    found: Presence = state.presence
    return found


def start(app: FastAPI) -> asyncio.Task[None] | None:
    """The periodic presence tick of this process (api/app.py's lifespan), unless off."""
    presence = presence_of(app)
    return asyncio.create_task(presence.run(app.state.temporal)) if presence.on else None


async def status_data(engine: Engine, agent_id: str, status: str) -> dict[str, str]:
    """The agent stream's `status` event: the status and, when presence set it offline,
    `reason: unseen` (the screen tells the agent why it is offline)."""
    data = {"status": status}
    if status == "offline":
        reason = await asyncio.to_thread(presence_store.status_reason, engine, agent_id)
        if reason is not None:
            data["reason"] = reason
    return data
