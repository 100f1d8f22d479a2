"""Bot versions in SQL: publishing a flow makes a new version only when its source changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from bots.models import BotFlow
from store.db import reads
from store.tables import bot_versions


@dataclass(frozen=True)
class BotVersion:
    bot: str
    version: int
    source: str
    flow: BotFlow
    created_at: datetime


def publish(engine: Engine, flow: BotFlow, source: str) -> tuple[BotVersion, bool]:
    """Store `flow` as the bot's newest version; returns (version, whether it is new).

    The same source with the same resolved flow (`${VAR}` values included) is not a new version.
    """
    flow_json = flow.model_dump(mode="json", by_alias=True)
    with engine.begin() as conn:
        latest = conn.execute(_LATEST, {"bot": flow.bot}).first()
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


def latest(engine: Engine, bot: str) -> BotVersion | None:
    with reads(engine) as conn:
        row = conn.execute(_LATEST, {"bot": bot}).first()
    return _version(row) if row else None


def list_latest(engine: Engine) -> list[BotVersion]:
    newest = (
        sa.select(bot_versions.c.bot, sa.func.max(bot_versions.c.version).label("version"))
        .group_by(bot_versions.c.bot)
        .subquery()
    )
    query = sa.select(bot_versions).join(
        newest,
        (bot_versions.c.bot == newest.c.bot) & (bot_versions.c.version == newest.c.version),
    )
    with reads(engine) as conn:
        return [_version(row) for row in conn.execute(query.order_by(bot_versions.c.bot))]


_LATEST = (
    sa.select(bot_versions)
    .where(bot_versions.c.bot == sa.bindparam("bot"))
    .order_by(bot_versions.c.version.desc())
    .limit(1)
)  # built once: every customer message reads it (store/hand_over.py's reasoning)


_parsed: dict[tuple[str, int, datetime], BotFlow] = {}
"""Parsed flows by (bot, version, created_at): a published version never changes, so it is
parsed once (created_at tells apart databases that reuse a bot name and number)."""
PARSED_CACHE_SIZE = 256


def _version(row: sa.Row[Any]) -> BotVersion:
    key = (row.bot, row.version, row.created_at)
    flow = _parsed.get(key)
    if flow is None:
        flow = BotFlow.model_validate(row.flow)
        if len(_parsed) >= PARSED_CACHE_SIZE:
            _parsed.pop(next(iter(_parsed)))
        _parsed[key] = flow
    return BotVersion(
        bot=row.bot, version=row.version, source=row.source, flow=flow, created_at=row.created_at
    )
