"""The channel connectors' SQL on SQLite and PostgreSQL: secrets encrypted and kept, delivery
parts written once, statuses only moving forward."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from encryption.codec import KeyRing
from omni.errors import NotFound
from store import channel_connectors as store
from store.channel_connectors import ConnectorSettings
from store.common import now
from store.tables import channel_connectors, conversations

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


def conversation(engine: sa.Engine, conversation_id: str, bot: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(conversations).values(
                id=conversation_id,
                workflow_id=f"conversation:{bot}:tg:1",
                bot=bot,
                bot_version=1,
                contact_id="tg:1",
                status="bot",
                created_at=now(),
                updated_at=now(),
            )
        )


def test_parts_are_written_once_and_statuses_move_forward(any_engine: sa.Engine) -> None:
    conversation(any_engine, "c1", "loja")
    for _ in range(2):  # a retried activity writes the same part again
        store.record_part(
            any_engine, "c1", 3, 0, "whatsapp", platform_message_id="wamid.out1", status="sent"
        )
    store.record_part(
        any_engine, "c1", 4, 0, "whatsapp", platform_message_id=None, status="failed", error="x"
    )
    assert store.sent_parts(any_engine, "c1", 3) == {0}
    assert store.record_status(any_engine, "loja", "whatsapp", "wamid.out1", "read", None)
    assert store.record_status(any_engine, "loja", "whatsapp", "wamid.out1", "delivered", None)
    assert not store.record_status(any_engine, "loja", "whatsapp", "wamid.other", "read", None)
    rows = store.deliveries_of(any_engine, "c1")
    assert [(r.seq, r.status, r.error) for r in rows] == [(3, "read", None), (4, "failed", "x")]


def test_a_status_reaches_only_the_bot_whose_webhook_got_it(any_engine: sa.Engine) -> None:
    """Telegram ids are `chat:message`, the same in two bots' chats with one person."""
    conversation(any_engine, "c-loja", "loja")
    conversation(any_engine, "c-outra", "outra")
    for conversation_id in ("c-loja", "c-outra"):
        store.record_part(
            any_engine, conversation_id, 1, 0, "telegram", platform_message_id="7:9", status="sent"
        )
    assert store.record_status(any_engine, "outra", "telegram", "7:9", "failed", "blocked")
    assert not store.record_status(any_engine, "nenhum", "telegram", "7:9", "read", None)
    assert [r.status for r in store.deliveries_of(any_engine, "c-loja")] == ["sent"]
    assert [r.status for r in store.deliveries_of(any_engine, "c-outra")] == ["failed"]
