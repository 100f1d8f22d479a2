"""Bot versions in SQL: publishing a flow makes a new version only when its source changed."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bots.models import BotFlow
from store.db import reads
from store.tables import bot_versions


class VersionMismatch(Exception):
    """A publish made against a version that is no longer the newest (the route's `If-Match`)."""

    def __init__(self, bot: str, current: int) -> None:
        super().__init__(f"bot {bot!r} changed since it was read (version {current} now)")
        self.bot = bot
        self.current = current


@dataclass(frozen=True)
class BotVersion:
    bot: str
    version: int
    source: str
    flow: BotFlow
    created_at: datetime


def publish(
    engine: Engine, flow: BotFlow, source: str, *, expected: int | None = None
) -> tuple[BotVersion, bool]:
    """Store `flow` as the bot's newest version; returns (version, whether it is new).

    The same source with the same resolved flow (`${VAR}` values included) is not a new version.
    Two publishes of one bot at once both get a number: the later one, once more, after it.
    With `expected` (0: no version yet) the newest must be that one, else VersionMismatch: of
    two publishes against one version, the later finds the number taken and the newest moved.
    """
    try:
        return _publish(engine, flow, source, expected)
    except IntegrityError:  # another publish took the number meanwhile
        return _publish(engine, flow, source, expected)


def _publish(
    engine: Engine, flow: BotFlow, source: str, expected: int | None
) -> tuple[BotVersion, bool]:
    flow_json = flow.model_dump(mode="json", by_alias=True)
    with engine.begin() as conn:
        latest = conn.execute(_LATEST, {"bot": flow.bot}).first()
        if expected is not None and (latest.version if latest else 0) != expected:
            raise VersionMismatch(flow.bot, latest.version if latest else 0)
        if latest is not None and latest.source == source and latest.flow == flow_json:
            return _version(latest), False
        number = (latest.version if latest else 0) + 1
        row: dict[str, Any] = {
            "bot": flow.bot,
            "version": number,
            "source": source,
            "flow": flow_json,
            "created_at": datetime.now(UTC),
        }
        conn.execute(bot_versions.insert().values(**row))
    return BotVersion(flow=flow, **{k: v for k, v in row.items() if k != "flow"}), True


def replaced_since(engine: Engine, bot: str, source: str, key: str | None = None) -> int | None:
    """The newest version of `bot` when an older one had `source` (and, given, the stored Omni
    key `key`: a masked text does not say which key it had) and the newest has not: that text
    was published, then replaced from elsewhere (the pages, the API). None when the bot has no
    version, its newest has it, or no version ever had it (the flows folder's rule,
    api/usecases/startup.py)."""

    def same(row: Any) -> bool:
        stored_key = (row.flow.get("human_service") or {}).get("omni_key")
        return bool(row.source == source and (key is None or stored_key == key))

    with reads(engine) as conn:
        newest = conn.execute(_NEWEST_SOURCE, {"bot": bot}).first()
        if newest is None or same(newest):
            return None
        had = conn.execute(_HAD_SOURCE, {"bot": bot, "source": source}).all()
    return newest.version if any(same(row) for row in had) else None


def latest(engine: Engine, bot: str) -> BotVersion | None:
    with reads(engine) as conn:
        row = conn.execute(_LATEST, {"bot": bot}).first()
    return _version(row) if row else None


def _newest_of_each() -> sa.Select[Any]:
    newest = (
        sa.select(bot_versions.c.bot, sa.func.max(bot_versions.c.version).label("version"))
        .group_by(bot_versions.c.bot)
        .subquery()
    )
    return sa.select(bot_versions).join(
        newest,
        (bot_versions.c.bot == newest.c.bot) & (bot_versions.c.version == newest.c.version),
    )


def list_latest(engine: Engine) -> list[BotVersion]:
    query = _newest_of_each().order_by(bot_versions.c.bot)
    with reads(engine) as conn:
        return [_version(row) for row in conn.execute(query)]


_LATEST = (
    sa.select(bot_versions)
    .where(bot_versions.c.bot == sa.bindparam("bot"))
    .order_by(bot_versions.c.version.desc())
    .limit(1)
)  # built once: every customer message reads it (store/hand_over.py's reasoning)


_NEWEST_SOURCE = (
    sa.select(bot_versions.c.version, bot_versions.c.source, bot_versions.c.flow)
    .where(bot_versions.c.bot == sa.bindparam("bot"))
    .order_by(bot_versions.c.version.desc())
    .limit(1)
)
_HAD_SOURCE = sa.select(bot_versions.c.source, bot_versions.c.flow).where(
    bot_versions.c.bot == sa.bindparam("bot"), bot_versions.c.source == sa.bindparam("source")
)


NEWEST = (
    sa.select(bot_versions.c.version, bot_versions.c.created_at)
    .where(bot_versions.c.bot == sa.bindparam("bot"))
    .order_by(bot_versions.c.version.desc())
    .limit(1)
)
"""The bot's newest version's key (no source, no flow): for a query that reads it beside
something else (store/conversations.py `latest_with_newest_version`), then `version_of`."""
_ONE = sa.select(bot_versions).where(
    bot_versions.c.bot == sa.bindparam("bot"), bot_versions.c.version == sa.bindparam("version")
)

_Key = tuple[str, int, datetime]
_versions: OrderedDict[_Key, BotVersion] = OrderedDict()
"""Versions read, flows parsed, by (bot, version, created_at): a published version never
changes, so it is read and parsed once (created_at tells apart databases that reuse a bot name
and number). Least recently used first; read and written under `_versions_lock` (streams call
`version_of` from worker threads)."""
_versions_lock = threading.Lock()
PARSED_CACHE_SIZE = 256


def version_of(engine: Engine, bot: str, version: int, created_at: datetime) -> BotVersion | None:
    """The version `NEWEST` named: from the cache, else read (None: gone since)."""
    found = _cached((bot, version, created_at))
    if found is not None:
        return found
    with reads(engine) as conn:
        row = conn.execute(_ONE, {"bot": bot, "version": version}).first()
    return _version(row) if row else None


def _cached(key: _Key) -> BotVersion | None:
    with _versions_lock:
        found = _versions.get(key)
        if found is not None:
            _versions.move_to_end(key)
        return found


def _version(row: sa.Row[Any]) -> BotVersion:
    key: _Key = (row.bot, row.version, row.created_at)
    found = _cached(key)
    if found is not None:
        return found
    flow = BotFlow.model_validate(row.flow)  # outside the lock: two threads may both parse
    parsed = BotVersion(
        bot=row.bot, version=row.version, source=row.source, flow=flow, created_at=key[2]
    )
    with _versions_lock:
        found = _versions.setdefault(key, parsed)
        _versions.move_to_end(key)
        while len(_versions) > PARSED_CACHE_SIZE:
            _versions.popitem(last=False)
    return found
