"""Channel credentials: the per-bot bearer tokens of server-side connectors.

A connector (a company's backend, a WhatsApp or Telegram adapter) names the contact of each
message, so only a holder of the bot's credential may do so. Tokens are random, shown once,
stored as SHA-256 with a display prefix, looked up by hash and compared in constant time.

A live credential found by `bot_of_token` may be remembered by the process for `cache_seconds`
(the setting `channel_credential_cache_seconds`, default 5 s): a revocation made through this
process takes effect at once (`revoke` forgets the whole cache); one made through another API
replica takes effect here within `cache_seconds`. Unknown or revoked tokens are never cached.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from omni import keys
from omni.errors import NotFound
from store.db import reads
from store.tables import channel_credentials as table
from store.token_cache import CHANNEL_CREDENTIALS


@dataclass(frozen=True)
class ChannelCredential:
    """A credential as lists show it: never the token."""

    id: str
    bot: str
    name: str
    token_prefix: str
    created_at: datetime
    revoked_at: datetime | None


def create(engine: Engine, bot: str, name: str) -> tuple[ChannelCredential, str]:
    """A new credential for `bot` and its token, returned this once."""
    token = keys.new_channel_token()
    credential = ChannelCredential(
        id=f"chc_{secrets.token_hex(8)}",
        bot=bot,
        name=name,
        token_prefix=keys.display_prefix(token),
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(**vars(credential), token_hash=keys.hash_key(token)))
    return credential, token


def list_for(engine: Engine, bot: str) -> list[ChannelCredential]:
    """The bot's live credentials, oldest first."""
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(*_public_columns())
            .where(table.c.bot == bot, table.c.revoked_at.is_(None))
            .order_by(table.c.created_at)
        ).all()
    return [ChannelCredential(**row._mapping) for row in rows]


def revoke(engine: Engine, bot: str, credential_id: str) -> None:
    """Revoke at once (idempotent); NotFound when the bot has no such credential."""
    with engine.begin() as conn:
        found = conn.execute(
            sa.select(table.c.id).where(table.c.id == credential_id, table.c.bot == bot)
        ).one_or_none()
        if found is None:
            raise NotFound(f"bot {bot!r} has no channel credential {credential_id!r}")
        conn.execute(
            sa.update(table)
            .where(table.c.id == credential_id, table.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    CHANNEL_CREDENTIALS.forget_all()


def forget_cached() -> None:
    """Every credential is looked up again (one was found revoked: api/channel_rechecks.py)."""
    CHANNEL_CREDENTIALS.forget_all()


def cached_bot(engine: Engine, token: str, *, cache_seconds: float) -> str | None:
    """The bot of a credential this process found live within `cache_seconds`, without SQL;
    None when it must be looked up (`bot_of_token`)."""
    if cache_seconds <= 0:
        return None
    return CHANNEL_CREDENTIALS.cached(engine, keys.hash_key(token))


def bot_of_token(engine: Engine, token: str, *, cache_seconds: float = 0.0) -> str | None:
    """The bot a live credential belongs to, or None; with `cache_seconds`, a credential found
    live is trusted that long without asking SQL again (see the module's docstring)."""
    token_hash = keys.hash_key(token)
    since = CHANNEL_CREDENTIALS.generation()
    hit = CHANNEL_CREDENTIALS.cached(engine, token_hash) if cache_seconds > 0 else None
    if hit is not None:
        return hit
    bot = _bot_of_hash(engine, token_hash)
    if bot is not None:
        CHANNEL_CREDENTIALS.keep(engine, token_hash, bot, cache_seconds, since)
    return bot


def _bot_of_hash(engine: Engine, token_hash: str) -> str | None:
    with reads(engine) as conn:
        row = conn.execute(
            sa.select(table.c.bot, table.c.token_hash).where(
                table.c.token_hash == token_hash, table.c.revoked_at.is_(None)
            )
        ).one_or_none()
    if row is None or not secrets.compare_digest(row.token_hash.encode(), token_hash.encode()):
        return None
    return str(row.bot)


def bots_of_tokens(engine: Engine, tokens: Iterable[str]) -> dict[str, str]:
    """The bots of the live credentials among `tokens`, by token (absent: unknown or revoked).
    One lookup for all of an API process's open connector streams (api/channel_rechecks.py)."""
    by_hash = {keys.hash_key(token): token for token in tokens}
    if not by_hash:
        return {}
    with reads(engine) as conn:
        rows = conn.execute(
            sa.select(table.c.bot, table.c.token_hash).where(
                table.c.token_hash.in_(list(by_hash)), table.c.revoked_at.is_(None)
            )
        ).all()
    return {by_hash[row.token_hash]: str(row.bot) for row in rows}


def _public_columns() -> list[sa.Column[Any]]:
    return [table.c[name] for name in ChannelCredential.__dataclass_fields__]
