"""Keys and tokens: stored only hashed (scan the SQLite file), never logged, shown only once."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from omni import keys
from tests.conftest import admin_headers

H = admin_headers()


def database_bytes(engine: sa.Engine) -> bytes:
    """The SQLite file with its WAL and journal (where fresh writes live before a checkpoint)."""
    path = Path(engine.url.database or "")
    files = sorted(path.parent.glob(path.name + "*"))
    assert files, path
    return b"".join(file.read_bytes() for file in files)


async def test_sqlite_file_holds_no_key_or_token(
    admin_api: httpx.AsyncClient, engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await admin_api.post("/api/omni/services", json={"name": "Suporte"}, headers=H)
    body = {"service": "Suporte", "bot": "loja"}
    integration = (await admin_api.post("/api/omni/integrations", json=body, headers=H)).json()
    agent = (await admin_api.post("/api/omni/agents", json={"name": "Ana"}, headers=H)).json()
    rotated = (
        await admin_api.post(f"/api/omni/integrations/{integration['id']}/rotate", headers=H)
    ).json()
    new_token = (await admin_api.post(f"/api/omni/agents/{agent['id']}/token", headers=H)).json()
    secrets_made = [integration["api_key"], agent["token"], rotated["api_key"], new_token["token"]]

    raw = database_bytes(engine)
    assert keys.hash_key(rotated["api_key"]).encode() in raw  # the scan does see the data
    assert keys.hash_key(new_token["token"]).encode() in raw
    for secret in secrets_made:
        random_part = secret.split("_", 1)[1]
        assert random_part.encode() not in raw
        assert random_part[8:24].encode() not in raw  # not even past the display prefix
        assert secret not in caplog.text
    assert caplog.records, "the admin actions are logged (without their secrets)"


def test_generated_secrets_are_strong_and_distinct() -> None:
    made = {keys.new_api_key() for _ in range(200)} | {keys.new_agent_token() for _ in range(200)}
    assert len(made) == 400
    key = keys.new_api_key()
    assert key.startswith("tbk_") and len(key) >= 4 + 43
    secret = keys.new_webhook_secret()
    assert len(keys.webhook_secret_bytes(secret)) == 32


@given(st.text(min_size=1, max_size=200))
def test_hash_is_hex_sha256_and_matches_only_itself(key: str) -> None:
    digest = keys.hash_key(key)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert keys.hashes_match(digest, key)
    assert not keys.hashes_match(digest, key + "x")


@given(st.binary(min_size=16, max_size=64))
def test_any_whsec_of_16_bytes_or_more_is_accepted(raw: bytes) -> None:
    secret = "whsec_" + base64.b64encode(raw).decode()
    assert keys.webhook_secret_bytes(secret) == raw


@pytest.mark.parametrize("secret", ["", "abc", "whsec_", "whsec_###", "whsec_" + "QUJD"])
def test_bad_webhook_secrets_are_rejected(secret: str) -> None:
    with pytest.raises(ValueError):
        keys.webhook_secret_bytes(secret)


def test_display_prefix_is_short() -> None:
    key = keys.new_api_key()
    prefix = keys.display_prefix(key)
    assert prefix == key[:12] and key.startswith(prefix)
