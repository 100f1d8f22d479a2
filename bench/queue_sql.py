"""The SQL of queueing and `next` with many waiting: statements and time per step, without and
with migration 0014's indexes, in one run (SQLite file).

    python bench/queue_sql.py [--waiting 10000] [--repeat 30]

Steps: the Humano block's hand-over local activity (`omni_hand_over`: resolve the key, enqueue,
position and estimated wait) and its parts, and `next`'s read (`waiting_for_agent`). Each step
is timed `--repeat` times with the 0014 indexes dropped (the schema before), then again with
them (recreated); the hand-over enqueues one more customer each time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.omni_queue import (  # noqa: E402
    EnqueueRequest,
    HandOverRequest,
    OmniActivities,
    ResolveRequest,
)
from omni.keys import hash_key  # noqa: E402
from omni.models import AgentCreate, IntegrationCreate, ServiceCreate  # noqa: E402
from store import queue  # noqa: E402
from store.agents import create_agent, set_agent_status  # noqa: E402
from store.db import open_database  # noqa: E402
from store.integrations import create_integration  # noqa: E402
from store.services import create_service  # noqa: E402
from store.wait_history import estimated_wait  # noqa: E402
from transbordo.stack import stack_ring  # noqa: E402

NEW = {
    "ix_queue_entries_service_status_order": (
        "(service_id, status, coalesce(rank_at, enqueued_at), id)"
    ),
    "ix_queue_entries_service_picked": "(service_id, picked_up_at)",
    "ix_queue_entries_service_status_ended": "(service_id, status, ended_at)",
}
OLD = {"ix_queue_entries_service_status_rank": "(service_id, status, rank_at)"}


def swap(engine: Engine, drop: dict[str, str], create: dict[str, str]) -> None:
    with engine.begin() as conn:
        for name in drop:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        for name, columns in create.items():
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON queue_entries {columns}")


def main(args: argparse.Namespace) -> None:
    engine = open_database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    service = create_service(engine, ServiceCreate(name="S"), stack_ring()).id
    agent = create_agent(engine, AgentCreate(name="A", services=["S"], capacity=100)).id
    set_agent_status(engine, agent, args.agent_status)
    key = create_integration(engine, IntegrationCreate(service="S", bot="b")).api_key
    for i in range(args.waiting):
        queue.enqueue(engine, entry_id=f"e{i}", conversation_id=f"c{i}", workflow_id=f"w{i}",
                      service_id=service, preview="oi")  # fmt: skip
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    omni = OmniActivities(engine)
    n = [args.waiting]

    def hand_over() -> None:
        n[0] += 1
        request = HandOverRequest(
            resolve=ResolveRequest(bot="b", omni_key="sha256:" + hash_key(key)),
            enqueue=EnqueueRequest(entry_id=f"e{n[0]}", conversation_id=f"c{n[0]}",
                                   workflow_id=f"w{n[0]}", service_id="", preview="oi"),
            closed=False, check_agents_online=True, estimate=True,
        )  # fmt: skip
        assert omni.hand_over(request).entry_id

    steps: list[tuple[str, Callable[[], object]]] = [
        ("omni_hand_over (one queued customer)", hand_over),
        ("  position (the newest)", lambda: queue.position(engine, f"e{n[0]}")),
        ("  estimated wait (wait history)", lambda: estimated_wait(engine, service, n[0])),
        ("next: waiting_for_agent(5)", lambda: queue.waiting_for_agent(engine, agent, limit=5)),
    ]
    print(f"{args.waiting} waiting, agent {args.agent_status}; p50 ms (statements per call)")
    results: dict[str, list[str]] = {name: [] for name, _ in steps}
    for label, drop, create in (("before", NEW, OLD), ("after", OLD, NEW)):
        swap(engine, drop, create)
        for name, step in steps:
            times = []
            statements[0] = 0
            for _ in range(args.repeat):
                began = time.perf_counter()
                step()
                times.append((time.perf_counter() - began) * 1000)
            per = statements[0] / args.repeat
            results[name].append(f"{label} {statistics.median(times):7.2f} ({per:.0f})")
    for name, figures in results.items():
        print(f"  {name:40s} " + "   ".join(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--agent-status", default="available", choices=["available", "paused"])
    main(parser.parse_args())
