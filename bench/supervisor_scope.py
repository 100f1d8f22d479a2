"""A scoped supervisor's audit and search beside a long history: ms per call at revision 0023
and after migration 0024 (the queue entries' (conversation, service) index), in one run.

    python bench/supervisor_scope.py [--entries 20000] [--actions 3000] [--repeat 5]
                                     [--database-url URL]

Fills two services' history (`--entries` conversations with one queue entry each, alternating
services) and `--actions` supervisor actions on one service's conversations, then times the
routes' SQL for a supervisor of each service: `store.supervision.list_actions` (the audit,
`GET /api/supervisor/actions`) and `store.labels.search` (`GET /api/supervisor/conversations`),
both filtered by `in_services` (was the conversation ever queued in one of mine?). SQLite by
default (a file); `--database-url` for PostgreSQL (an empty database).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omni.models import ServiceCreate  # noqa: E402
from store import labels, supervision  # noqa: E402
from store.db import open_database, run_alembic  # noqa: E402
from store.services import create_service  # noqa: E402
from store.tables import conversations, queue_entries, supervisor_actions  # noqa: E402
from transbordo.stack import stack_ring  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(engine: Engine, entries: int, actions: int) -> tuple[str, str]:
    suporte, financeiro = (
        create_service(engine, ServiceCreate(name=name), stack_ring()).id
        for name in ("Suporte", "Financeiro")
    )
    rows = [
        {
            "id": f"q{n}",
            "conversation_id": f"c{n}",
            "workflow_id": f"w{n}",
            "service_id": (financeiro, suporte)[n % 2],
            "status": "finished",
            "enqueued_at": T0 + timedelta(seconds=n),
            "picked_up_at": T0 + timedelta(seconds=n + 5),
            "ended_at": T0 + timedelta(seconds=n + 50),
        }
        for n in range(entries)
    ]
    audit = [
        {
            "id": f"a{n}",
            "conversation_id": f"c{2 * n}",  # Financeiro's
            "supervisor": "Fabio",
            "action": "whisper",
            "detail": "",
            "created_at": T0 + timedelta(seconds=n),
        }
        for n in range(actions)
    ]
    talks = [
        {
            "id": f"c{n}",
            "workflow_id": f"w{n}",
            "bot": "loja",
            "bot_version": 1,
            "contact_id": f"k{n}",
            "status": "ended",
            "created_at": T0 + timedelta(seconds=n),
            "updated_at": T0 + timedelta(seconds=n + 50),
        }
        for n in range(entries)
    ]
    with engine.begin() as conn:
        conn.execute(conversations.insert(), talks)
        conn.execute(queue_entries.insert(), rows)
        conn.execute(supervisor_actions.insert(), audit)
    return suporte, financeiro


def ms_per_call(call: Callable[[], object], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def timings(engine: Engine, services: dict[str, str], repeat: int) -> list[str]:
    lines = []
    for name, service in services.items():
        mine = [service]
        audit = ms_per_call(partial(supervision.list_actions, engine, service_ids=mine), repeat)
        found = ms_per_call(partial(labels.search, engine, service_ids=mine, limit=50), repeat)
        lines.append(f"  supervisor of {name:<10}  audit {audit:9.2f} ms   search {found:9.2f} ms")
    return lines


def main(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = open_database(url)
    run_alembic(engine, "downgrade", "0023")
    suporte, financeiro = fill(engine, args.entries, args.actions)
    services = {"Suporte": suporte, "Financeiro": financeiro}
    print(f"{engine.dialect.name}: {args.entries:,} entries, {args.actions:,} actions")
    print("revision 0023 (conversation_id indexed alone):")
    print("\n".join(timings(engine, services, args.repeat)))
    run_alembic(engine, "upgrade", "head")
    print("head (0024: the (conversation_id, service_id) index):")
    print("\n".join(timings(engine, services, args.repeat)))
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--actions", type=int, default=3_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    main(parser.parse_args())
