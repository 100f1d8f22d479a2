"""Channel credentials: the per-bot bearer tokens of server-side connectors.

A connector (a company's backend, a WhatsApp or Telegram adapter) names the contact of each
message, so only a holder of the bot's credential may do so. Tokens are random, shown once,
stored as SHA-256 with a display prefix, looked up by hash and compared in constant time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from omni import keys
from omni.errors import NotFound
from store.tables import channel_credentials as table


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
    with engine.connect() as conn:
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


def bot_of_token(engine: Engine, token: str) -> str | None:
    """The bot a live credential belongs to, or None."""
    token_hash = keys.hash_key(token)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(table.c.bot, table.c.token_hash).where(
                table.c.token_hash == token_hash, table.c.revoked_at.is_(None)
            )
        ).one_or_none()
    if row is None or not secrets.compare_digest(row.token_hash.encode(), token_hash.encode()):
        return None
    return str(row.bot)


def _public_columns() -> list[sa.Column[Any]]:
    return [table.c[name] for name in ChannelCredential.__dataclass_fields__]
