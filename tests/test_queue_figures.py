"""The queue figures beside a long history, on SQLite and PostgreSQL: the supervisor's live view
counts the open entries only (and reads them through their partial index, migration 0022, not
every entry ever made), and the metrics scrape's totals are the history's as migration 0023
counted it."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from api.usecases import supervision
from omni.models import OPEN_QUEUE_STATUSES, ServiceCreate
from store.open_conversations import open_query
from store.queue_figures import open_counts_query, open_queues, service_figures
from store.services import create_service
from store.tables import OPEN_ENTRY, OPEN_STATUSES, queue_entries
from tests.test_omni_migration import alembic
from transbordo.stack import stack_ring

T0 = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
HISTORY = 3000
"""Closed entries per run: many beside a handful of open ones (the figures, not the time)."""
CLOSED = ("finished", "abandoned", "transferred", "voicemail")


def entry(n: int, service: str | None, status: str, queued: int, picked: int | None = None
          ) -> dict[str, object]:  # fmt: skip
    return {
        "id": f"q{n}",
        "conversation_id": f"c{n}",
        "workflow_id": f"w{n}",
        "service_id": service,
        "status": status,
        "enqueued_at": T0 + timedelta(seconds=queued),
        "picked_up_at": T0 + timedelta(seconds=picked) if picked is not None else None,
        "ended_at": None if status in OPEN_QUEUE_STATUSES else T0 + timedelta(seconds=queued + 90),
    }


def history(engine: sa.Engine) -> tuple[str, str, str]:
    """Suporte, Vendas and Cobrança (nothing ever queued): `HISTORY` closed entries of Suporte and
    Vendas, each picked up after 30 s (in the 60 s target) or 120 s, or never when abandoned,
    all enqueued before the open ones; then Suporte's 3 waiting and 2 in service, Vendas's 1 in
    service, and an open entry whose service was removed."""
    ids = [
        create_service(engine, ServiceCreate(name=name), stack_ring()).id
        for name in ("Suporte", "Vendas", "Cobrança")
    ]
    suporte, vendas, _ = ids
    rows = []
    for n in range(HISTORY):
        status = CLOSED[n % len(CLOSED)]
        picked = None if status == "abandoned" else n + (30 if n % 3 else 120)
        rows.append(entry(n, (suporte, vendas)[n % 2], status, n, picked))
    late = HISTORY + 600
    rows += [
        entry(10_001, suporte, "waiting", late + 40),
        entry(10_002, suporte, "waiting", late + 10),  # the first in line
        entry(10_003, suporte, "waiting", late + 50),
        entry(10_004, suporte, "in_service", late, late + 5),
        entry(10_005, suporte, "in_service", late + 1, late + 6),
        entry(10_006, vendas, "in_service", late + 2, late + 7),
        entry(10_007, None, "waiting", late - 500),  # its service removed: no one's queue
    ]
    with engine.begin() as conn:
        conn.execute(queue_entries.insert(), rows)
    return suporte, vendas, ids[2]


def expected_totals(service_index: int) -> tuple[int, int, int]:
    """(abandoned, answered, answered within 60 s) of `history`'s closed entries of a service."""
    mine = [n for n in range(HISTORY) if n % 2 == service_index]
    abandoned = sum(CLOSED[n % len(CLOSED)] == "abandoned" for n in mine)
    answered = [n for n in mine if CLOSED[n % len(CLOSED)] != "abandoned"]
    return abandoned, len(answered), sum(1 for n in answered if n % 3)


def test_the_live_view_counts_the_open_entries_beside_a_long_history(any_engine: sa.Engine) -> None:
    suporte, vendas, cobranca = history(any_engine)
    live = supervision.live(any_engine, NOW)
    assert [(one.service, one.waiting, one.in_service) for one in live] == [
        ("Cobrança", 0, 0),
        ("Suporte", 3, 2),
        ("Vendas", 0, 1),
    ]
    first_in_line = T0 + timedelta(seconds=HISTORY + 610)
    assert live[1].oldest_wait_seconds == pytest.approx((NOW - first_in_line).total_seconds())
    assert live[0].oldest_wait_seconds is None and live[2].oldest_wait_seconds is None
    assert [(q.service_id, q.oldest_waiting_since) for q in open_queues(any_engine)] == [
        (cobranca, None),
        (suporte, first_in_line),
        (vendas, None),
    ]


def test_the_upgrade_totals_the_history_for_the_scrape(any_engine: sa.Engine) -> None:
    """Migration 0023 counts the entries made before it into each service's totals, which the
    scrape reads from then on (store/service_totals.py) instead of the history."""
    alembic(any_engine, "downgrade", "0022")
    history(any_engine)
    alembic(any_engine, "upgrade", "head")
    cobranca, suporte, vendas = service_figures(any_engine)
    assert (suporte.waiting, suporte.in_service, vendas.waiting, vendas.in_service) == (3, 2, 0, 1)
    assert suporte.oldest_waiting_since == T0 + timedelta(seconds=HISTORY + 610)
    assert (cobranca.abandoned, cobranca.answered, cobranca.service_level_percent) == (0, 0, None)
    for figures, index, in_service in ((suporte, 0, 2), (vendas, 1, 1)):  # picked up in 5 s
        abandoned, answered, within = expected_totals(index)
        assert (figures.abandoned, figures.answered) == (abandoned, answered + in_service)
        assert figures.answered_within_target == within + in_service


@pytest.mark.parametrize("query", ["figures", "open conversations"])
def test_the_live_view_reads_the_open_entries_index(any_engine: sa.Engine, query: str) -> None:
    """The plans of the live view's queries (the grouped figures, the admin's open
    conversations), after `history`: the open entries' partial index, so each 3-second refresh
    reads what is open, not every entry ever made."""
    frozen = importlib.import_module("store.migrations.versions.0022_open_queue_entries_index")
    assert frozen._OPEN.text == OPEN_ENTRY  # the migration's index and the tables': one predicate
    assert OPEN_STATUSES.value == list(OPEN_QUEUE_STATUSES)
    history(any_engine)
    select = open_counts_query() if query == "figures" else open_query(100)
    compiled = select.compile(any_engine, compile_kwargs={"render_postcompile": True})
    sql, params = compiled.string, compiled.params  # as sent: bound values stay parameters
    with any_engine.begin() as conn:
        if any_engine.dialect.name == "sqlite":
            args = tuple(params[name] for name in compiled.positiontup or ())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args)
            plan = " ".join(row[3] for row in rows)
        else:
            conn.exec_driver_sql("ANALYZE queue_entries")
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}", params))
    assert "ix_queue_entries_open" in plan, plan
