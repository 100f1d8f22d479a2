"""CPU per `omni_hand_over` call (the Humano block's hand-over local activity) and its SQL
statements, called directly on a SQLite file: one service, 2 agents available, `--waiting`
customers already in line. Run it from two checkouts to compare (bench/README.md, fourth pass).

    python bench/hand_over_cpu.py [--waiting 800] [--calls 400] [--record]

`--record`: each call also records a new run's first turn (patch `hand-over-records`).

Not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

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
from transbordo.stack import stack_ring  # noqa: E402


def main(args: argparse.Namespace) -> None:
    engine = open_database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    service = create_service(engine, ServiceCreate(name="S"), stack_ring()).id
    for i in range(2):
        agent = create_agent(engine, AgentCreate(name=f"A{i}", services=["S"], capacity=100)).id
        set_agent_status(engine, agent, "available")
    key = "sha256:" + hash_key(
        create_integration(engine, IntegrationCreate(service="S", bot="b")).api_key
    )
    for i in range(args.waiting):
        queue.enqueue(engine, entry_id=f"e{i}", conversation_id=f"c{i}", workflow_id=f"w{i}",
                      service_id=service, preview="oi")  # fmt: skip
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    omni = OmniActivities(engine)

    def first_turn(i: int) -> Any:
        try:
            from activities.first_turn import QueuedRecord
        except ImportError:  # a checkout from before activities/first_turn.py
            from activities.omni_queue import QueuedRecord  # type: ignore[attr-defined,no-redef]
        from workflows.contracts import Message, RecordBatch

        at = datetime.now(UTC)
        batch = RecordBatch(
            conversation_id=f"xc{i}", workflow_id=f"xw{i}", bot="b", bot_version=1,
            contact_id=f"k{i}", status="waiting", block="h",
            messages=[Message(seq=1, sender="customer", text="oi", at=at),
                      Message(seq=2, sender="bot", text="Vou transferir.", at=at)],
        )  # fmt: skip
        return QueuedRecord(batch=batch, first_seq=2, notice_seq=3, at=at)

    def hand_over(i: int) -> None:
        record = {"record": first_turn(i)} if args.record else {}
        request = HandOverRequest(
            resolve=ResolveRequest(bot="b", omni_key=key),
            enqueue=EnqueueRequest(entry_id=f"x{i}", conversation_id=f"xc{i}",
                                   workflow_id=f"xw{i}", service_id="", preview="oi"),
            closed=False, check_agents_online=True, estimate=True, **record,
        )  # fmt: skip
        assert omni.hand_over(request).entry_id

    for i in range(50):  # warm-up: imports, SQLAlchemy's statement cache
        hand_over(i)
    statements[0] = 0
    began = time.process_time()
    for i in range(50, 50 + args.calls):
        hand_over(i)
    cpu = (time.process_time() - began) / args.calls * 1000
    per = statements[0] / args.calls
    print(
        f"omni_hand_over{' --record' if args.record else ''}, {args.waiting} waiting: "
        f"{cpu:.2f} ms CPU per call, {per:.1f} statements"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waiting", type=int, default=800)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--record", action="store_true")
    main(parser.parse_args())
