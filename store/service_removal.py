"""What deleting a service checks and undoes: its open conversations refuse the delete; its
integrations are revoked and its rows outlive it without the reference (store/services.py)."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy import Connection

from omni.errors import Conflict
from omni.models import OPEN_QUEUE_STATUSES
from store.common import now
from store.tables import (
    agent_services,
    integrations,
    queue_entries,
    service_totals,
    service_transfer_targets,
)


def refuse_open_entries(conn: Connection, service_id: str, name: str) -> None:
    counts = conn.execute(
        sa.select(queue_entries.c.status, sa.func.count())
        .where(
            queue_entries.c.service_id == service_id,
            queue_entries.c.status.in_(OPEN_QUEUE_STATUSES),
        )
        .group_by(queue_entries.c.status)
    )
    open_entries = Counter({status: count for status, count in counts})
    if open_entries:
        raise Conflict(
            f"service {name!r} has {open_entries['waiting']} waiting and "
            f"{open_entries['in_service']} in-service conversation(s); "
            "finish or transfer them before deleting it",
            code="service_busy",
        )


def detach(conn: Connection, service_id: str) -> None:
    """Revoke the service's integrations, let its rows outlive it without the reference, take
    it out of every transfer group and every agent's services, and drop its metrics totals."""
    conn.execute(
        sa.update(integrations)
        .where(integrations.c.service_id == service_id, integrations.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    conn.execute(
        sa.update(integrations)
        .where(integrations.c.service_id == service_id)
        .values(service_id=None)
    )
    conn.execute(
        sa.update(queue_entries)
        .where(queue_entries.c.service_id == service_id)
        .values(service_id=None)
    )
    conn.execute(
        sa.delete(service_transfer_targets).where(
            sa.or_(
                service_transfer_targets.c.service_id == service_id,
                service_transfer_targets.c.target_id == service_id,
            )
        )
    )
    conn.execute(sa.delete(agent_services).where(agent_services.c.service_id == service_id))
    conn.execute(sa.delete(service_totals).where(service_totals.c.service_id == service_id))
