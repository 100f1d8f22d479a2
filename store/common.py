"""Small helpers every store module shares: the clock, new ids, the backend in use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Connection


def now() -> datetime:
    """The time written to SQL: always aware, always UTC (``tables.UtcDateTime`` insists)."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A row id such as ``svc_…``: the prefix tells the resource apart in logs and URLs."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def is_postgres(conn: Connection) -> bool:
    """Row locks (``FOR UPDATE``) are taken on PostgreSQL; SQLite serializes writers anyway."""
    return conn.dialect.name == "postgresql"
