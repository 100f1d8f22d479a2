"""The per-process cache of live connector credentials (store/channel_credentials.py): a
revocation through this process takes effect at once; one made elsewhere (another API replica,
simulated by writing `revoked_at` in SQL directly) within `cache_seconds`, never later."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from store import channel_credentials as credentials
from store import token_cache
from store.tables import channel_credentials as table


def _revoke_elsewhere(engine: sa.Engine, credential_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(table).where(table.c.id == credential_id).values(revoked_at=datetime.now(UTC))
        )


def test_a_revocation_here_takes_effect_at_once(engine: sa.Engine) -> None:
    credential, token = credentials.create(engine, "loja", "backend")
    assert credentials.bot_of_token(engine, token, cache_seconds=60) == "loja"
    assert credentials.cached_bot(engine, token, cache_seconds=60) == "loja"
    credentials.revoke(engine, "loja", credential.id)
    assert credentials.cached_bot(engine, token, cache_seconds=60) is None
    assert credentials.bot_of_token(engine, token, cache_seconds=60) is None


def test_a_revocation_elsewhere_takes_effect_within_the_bound(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential, token = credentials.create(engine, "loja", "backend")
    clock = [1000.0]
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: clock[0])
    assert credentials.bot_of_token(engine, token, cache_seconds=5) == "loja"
    _revoke_elsewhere(engine, credential.id)
    clock[0] += 4.9  # within the bound this process may still trust what it saw
    assert credentials.bot_of_token(engine, token, cache_seconds=5) == "loja"
    assert credentials.bot_of_token(engine, token) is None  # uncached callers see SQL
    clock[0] += 0.2
    assert credentials.cached_bot(engine, token, cache_seconds=5) is None
    assert credentials.bot_of_token(engine, token, cache_seconds=5) is None


def test_unknown_tokens_are_not_cached_and_new_ones_work_at_once(engine: sa.Engine) -> None:
    assert credentials.bot_of_token(engine, "tbc_nope", cache_seconds=60) is None
    _, token = credentials.create(engine, "loja", "backend")
    assert credentials.bot_of_token(engine, token, cache_seconds=60) == "loja"
