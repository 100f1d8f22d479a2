"""The channel connectors' SQL on SQLite and PostgreSQL: secrets encrypted and kept, delivery
parts written once, statuses only moving forward."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from encryption.codec import KeyRing
from omni.errors import NotFound
from store import channel_connectors as store
from store.channel_connectors import ConnectorSettings
from store.tables import channel_connectors

RING = KeyRing.generate()


def whatsapp(**secrets: str) -> ConnectorSettings:
    return ConnectorSettings(
        bot="loja",
        platform="whatsapp",
        account_id="106540352242922",
        secrets=secrets,
        template_name=None,
        template_language=None,
    )


def test_secrets_are_encrypted_and_kept_when_left_out(any_engine: sa.Engine) -> None:
    saved = store.save(any_engine, RING, whatsapp(access_token="EAA-1", app_secret="s1"))
    assert saved.secrets_set == ["access_token", "app_secret"]
    with any_engine.connect() as conn:
        stored = conn.execute(sa.select(channel_connectors.c.secrets)).scalar_one()
    assert stored.startswith("enc:") and "EAA-1" not in stored
    store.save(any_engine, RING, whatsapp(access_token="EAA-2", app_secret=""))
    settings = store.settings_of(any_engine, RING, "loja", "whatsapp")
    assert settings is not None
    assert settings.secrets == {"access_token": "EAA-2", "app_secret": "s1"}
    assert store.settings_of(any_engine, RING, "loja", "telegram") is None
    store.delete(any_engine, "loja", "whatsapp")
    with pytest.raises(NotFound):
        store.delete(any_engine, "loja", "whatsapp")
    assert store.list_for(any_engine, RING, "loja") == []


def test_parts_are_written_once_and_statuses_move_forward(any_engine: sa.Engine) -> None:
    for _ in range(2):  # a retried activity writes the same part again
        store.record_part(
            any_engine, "c1", 3, 0, "whatsapp", platform_message_id="wamid.out1", status="sent"
        )
    store.record_part(
        any_engine, "c1", 4, 0, "whatsapp", platform_message_id=None, status="failed", error="x"
    )
    assert store.sent_parts(any_engine, "c1", 3) == {0}
    assert store.record_status(any_engine, "whatsapp", "wamid.out1", "read", None)
    assert store.record_status(any_engine, "whatsapp", "wamid.out1", "delivered", None)
    assert not store.record_status(any_engine, "whatsapp", "wamid.other", "read", None)
    rows = store.deliveries_of(any_engine, "c1")
    assert [(r.seq, r.status, r.error) for r in rows] == [(3, "read", None), (4, "failed", "x")]
