"""The Omni migrations (0002 tables, 0003 voicemails) go down and up again on SQLite and
PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from store.db import MIGRATIONS

OMNI_TABLES = {
    "services",
    "service_transfer_targets",
    "integrations",
    "agents",
    "agent_services",
    "queue_entries",
    "voicemails",
}


def alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_downgrade_and_upgrade(any_engine: sa.Engine) -> None:
    assert set(sa.inspect(any_engine).get_table_names()) >= OMNI_TABLES
    alembic(any_engine, "downgrade", "0001")
    assert not OMNI_TABLES & set(sa.inspect(any_engine).get_table_names())
    alembic(any_engine, "upgrade", "head")
    inspector = sa.inspect(any_engine)
    assert set(inspector.get_table_names()) >= OMNI_TABLES
    indexes = {index["name"] for index in inspector.get_indexes("queue_entries")}
    assert {"ix_queue_entries_service_status", "ix_queue_entries_agent_status"} <= indexes
