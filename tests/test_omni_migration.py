"""The Omni migrations (0002 tables, 0003 voicemails) go down and up again on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from store.db import run_alembic

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
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
    run_alembic(engine, action, revision)


def test_downgrade_and_upgrade(any_engine: sa.Engine) -> None:
    assert set(sa.inspect(any_engine).get_table_names()) >= OMNI_TABLES
    alembic(any_engine, "downgrade", "0001")
    assert not OMNI_TABLES & set(sa.inspect(any_engine).get_table_names())
    alembic(any_engine, "upgrade", "head")
    inspector = sa.inspect(any_engine)
    assert set(inspector.get_table_names()) >= OMNI_TABLES
    indexes = {index["name"] for index in inspector.get_indexes("queue_entries")}
    assert {"ix_queue_entries_service_status", "ix_queue_entries_agent_status"} <= indexes


def row(conn: sa.Connection, table_name: str, /, **values: object) -> None:
    """Insert into the table as it is at this revision, any other required column filled."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    filler = {sa.Integer: 1, sa.Boolean: False, sa.DateTime: T0, sa.JSON: None, sa.String: "x"}
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None:
            continue
        kind = next(k for k in filler if isinstance(column.type, k))
        unique = f"{table_name}-{column.name}"
        values[column.name] = filler[kind] if kind is not sa.String else unique
    conn.execute(table.insert().values(**values))


def test_migrations_keep_the_rows_of_a_working_contact_center(any_engine: sa.Engine) -> None:
    """Down to 0005 (its routing columns rebuild tables on SQLite) and up again with an agent in
    service, its service link and an open offer: nothing is deleted or orphaned on the way."""
    alembic(any_engine, "downgrade", "0005")
    with any_engine.begin() as conn:
        row(conn, "services", id="s1", name="Suporte")
        row(conn, "agents", id="a1", name="Ana", token_hash="h")
        row(conn, "agent_services", agent_id="a1", service_id="s1")
        row(conn, "queue_entries", id="q1", service_id="s1", status="in_service", agent_id="a1")
        row(conn, "offers", id="o1", entry_id="q1", agent_id="a1", status="open")

    def survived() -> tuple[object, ...]:
        with any_engine.connect() as conn:
            return (
                conn.exec_driver_sql("SELECT count(*) FROM agent_services").scalar(),
                conn.exec_driver_sql("SELECT agent_id FROM queue_entries").scalar(),
                conn.exec_driver_sql("SELECT count(*) FROM offers").scalar(),
            )

    assert survived() == (1, "a1", 1)
    alembic(any_engine, "upgrade", "head")
    assert survived() == (1, "a1", 1)
    alembic(any_engine, "downgrade", "0005")
    assert survived() == (1, "a1", 1)
    alembic(any_engine, "upgrade", "head")
    with any_engine.connect() as conn:  # the pool's connections have foreign keys on again
        if any_engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
