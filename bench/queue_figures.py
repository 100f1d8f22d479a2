"""The queue figures beside a long history: ms per call before and after migrations 0022 (the
open entries' partial index) and 0023 (each service's totals kept by the writers), in one run
(SQLite file).

    python bench/queue_figures.py [--closed 600000] [--waiting 2000] [--services 5] [--repeat 20]

Fills the queue at revision 0022 with `--closed` closed entries (nine in ten finished, one
abandoned) and then `--waiting` waiting plus 10 in service per service, spread over
`--services` services, upgrades to the newest revision (timed once: 0023 counts the history
into `service_totals`), then times, each `--repeat` times (median, ms per call):

- before: what `GET /api/supervisor/live` ran before 0022 (services, every entry grouped by
  service and status, every picked-up entry), and the scrape before 0023 (the open entries
  through 0022's index, and the totals counted from every entry ever made);
- live: `store.queue_figures.open_queues` (what it runs now), and the same without 0022's index
  (dropped at the end, to show the predicate alone does not do it);
- scrape: `store.queue_figures.service_figures` (`/metrics`, cached `metrics_cache_seconds`),
  whose counters are read from one row per service (store/service_totals.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omni.models import ServiceCreate  # noqa: E402
from store.db import open_database, reads, run_alembic  # noqa: E402
from store.queue_figures import (  # noqa: E402
    open_counts_query,
    open_queues,
    seconds_between,
    service_figures,
)
from store.services import create_service  # noqa: E402
from store.tables import queue_entries, services  # noqa: E402
from transbordo.stack import stack_ring  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 20_000


def entry(n: int, service: str, status: str, queued: timedelta) -> dict[str, object]:
    picked = None if status in ("waiting", "abandoned") else T0 + queued + timedelta(seconds=40)
    closed = status in ("finished", "abandoned")
    return {
        "id": f"q{n}",
        "conversation_id": f"c{n}",
        "workflow_id": f"w{n}",
        "service_id": service,
        "status": status,
        "enqueued_at": T0 + queued,
        "picked_up_at": picked,
        "ended_at": T0 + queued + timedelta(seconds=300) if closed else None,
    }


def fill(engine: sa.Engine, args: argparse.Namespace) -> None:
    ids = [
        create_service(engine, ServiceCreate(name=f"S{i}"), stack_ring()).id
        for i in range(args.services)
    ]
    rows = []
    for n in range(args.closed):
        status = "abandoned" if n % 10 == 0 else "finished"
        rows.append(entry(n, ids[n % len(ids)], status, timedelta(seconds=n)))
    late = timedelta(seconds=args.closed)
    for m in range(args.waiting):
        rows.append(
            entry(args.closed + m, ids[m % len(ids)], "waiting", late + timedelta(milliseconds=m))
        )
    for k, service in enumerate(ids * 10):
        rows.append(entry(args.closed + args.waiting + k, service, "in_service", late))
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(queue_entries.insert(), rows[start : start + CHUNK])


def _abandoned_ever(conn: sa.Connection) -> int:
    """The scrape's abandoned totals until 0023: every abandoned entry ever made."""
    return len(
        conn.execute(
            sa.select(queue_entries.c.service_id, sa.func.count())
            .where(queue_entries.c.service_id.is_not(None), queue_entries.c.status == "abandoned")
            .group_by(queue_entries.c.service_id)
        ).all()
    )


def _answered_ever(conn: sa.Connection) -> int:
    """The scrape's answered totals until 0023: every picked-up entry ever made."""
    waited = seconds_between(conn, queue_entries.c.picked_up_at, queue_entries.c.enqueued_at)
    within = sa.case((waited <= services.c.answer_time_seconds, 1), else_=0)
    answered = conn.execute(
        sa.select(queue_entries.c.service_id, sa.func.count(), sa.func.sum(within))
        .join(services, services.c.id == queue_entries.c.service_id)
        .where(queue_entries.c.picked_up_at.is_not(None))
        .group_by(queue_entries.c.service_id)
    ).all()
    return len(answered)


def before(engine: sa.Engine) -> int:
    """The live view's reads before 0022: every entry grouped, every picked-up entry."""
    with reads(engine) as conn:
        configured = conn.execute(sa.select(services.c.id, services.c.name)).all()
        grouped = conn.execute(
            sa.select(
                queue_entries.c.service_id,
                queue_entries.c.status,
                sa.func.count(),
                sa.func.min(queue_entries.c.enqueued_at),
            )
            .where(queue_entries.c.service_id.is_not(None))
            .group_by(queue_entries.c.service_id, queue_entries.c.status)
        ).all()
        return len(configured) + len(grouped) + _answered_ever(conn)


def scrape_before_0023(engine: sa.Engine) -> int:
    """The scrape's reads before 0023: the open entries (0022's index), the history's totals."""
    with reads(engine) as conn:
        configured = conn.execute(sa.select(services.c.id, services.c.name)).all()
        grouped = conn.execute(open_counts_query()).all()
        return len(configured) + len(grouped) + _abandoned_ever(conn) + _answered_ever(conn)


def ms_per_call(call: Callable[[], object], repeat: int) -> float:
    call()  # warm the page cache and the statement cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(args: argparse.Namespace) -> None:
    engine = open_database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    run_alembic(engine, "downgrade", "0022")
    began = time.perf_counter()
    fill(engine, args)
    print(f"filled {args.closed:,} closed + {args.waiting:,} waiting + {10 * args.services} in "
          f"service, {args.services} services, in {time.perf_counter() - began:.0f} s")  # fmt: skip
    began = time.perf_counter()
    run_alembic(engine, "upgrade", "head")
    print(f"upgraded (0023 counts the history) in {time.perf_counter() - began:.1f} s")
    live = open_queues(engine)
    assert sum(q.waiting for q in live) == args.waiting, live
    figures = service_figures(engine)
    assert [q.waiting for q in live] == [q.waiting for q in figures]
    abandoned = (args.closed + 9) // 10
    assert sum(f.abandoned for f in figures) == abandoned, figures
    assert sum(f.answered for f in figures) == args.closed - abandoned + 10 * args.services
    steps: list[tuple[str, Callable[[], object]]] = [
        ("before: live view (scrape's queries)", lambda: before(engine)),
        ("after:  live view (open_queues)", lambda: open_queues(engine)),
        ("before: scrape (totals from the history)", lambda: scrape_before_0023(engine)),
        ("after:  scrape (service_figures)", lambda: service_figures(engine)),
    ]
    for name, call in steps:
        print(f"{name:<42} {ms_per_call(call, args.repeat):8.2f} ms per call")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_queue_entries_open")
    without = ms_per_call(lambda: open_queues(engine), args.repeat)
    print(f"{'after:  live view, 0022 index dropped':<42} {without:8.2f} ms per call")
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--closed", type=int, default=600_000)
    parser.add_argument("--waiting", type=int, default=2_000)
    parser.add_argument("--services", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    main(parser.parse_args())
