"""Benchmark: the API's write of a bot turn (read-your-writes), prepared vs SQLAlchemy.

    python bench/turn_write.py [--n 3000] [--postgres postgresql://...]

`store.conversations.record_turn` (the raised `last_seq` with the Update's status, the customer's
entry and a menu reply; on PostgreSQL its NOTIFY) runs its statements compiled once on the
driver's cursor (store/prepared.py). The baseline is the same statements through a SQLAlchemy
`Connection` in `engine.begin()`, as record_turn ran them before, alternating in blocks of 100
in this process on one SQLite file (or the PostgreSQL database given). Prints µs per turn and
the ratio. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from store import conversations as conversation_log  # noqa: E402
from store import notify  # noqa: E402
from store.conversations import _INSERT_MESSAGES, _message_rows  # noqa: E402
from store.db import open_database  # noqa: E402
from store.row_raises import RAISE_TOP_WITH_STATUS, STATUS_COLUMNS  # noqa: E402
from workflows.contracts import LogStatus, Message  # noqa: E402

BLOCK = 100
STATUS = LogStatus(status="bot", block="menu")


def through_sqlalchemy(engine: sa.Engine, conversation_id: str, entries: list[Message]) -> None:
    """record_turn as it ran before store/prepared.py: the same statements, `Connection`."""
    status = STATUS
    top = max(m.seq for m in entries)
    params = {"conversation": conversation_id, "top": top, "at": datetime.now(UTC)}
    columns = {f"{name}_now": getattr(status, name) for name in STATUS_COLUMNS}
    with engine.begin() as conn:
        conn.execute(RAISE_TOP_WITH_STATUS, {**params, **columns})
        postgres = conn.dialect.name == "postgresql"
        conn.execute(_INSERT_MESSAGES[postgres], _message_rows(conversation_id, entries))
        notify.log_written(conn, conversation_id, top)


def prepared(engine: sa.Engine, conversation_id: str, entries: list[Message]) -> None:
    conversation_log.record_turn(engine, conversation_id, entries, STATUS)


def main(n: int, postgres: str | None) -> None:
    url = postgres or f"sqlite:///{tempfile.mkdtemp(prefix='transbordo-turn-write-')}/log.db"
    engine = open_database(url)
    ways: dict[str, Callable[[sa.Engine, str, list[Message]], None]] = {
        "SQLAlchemy Connection (before)": through_sqlalchemy,
        "prepared (store/prepared.py)": prepared,
    }
    seqs = dict.fromkeys(ways, 0)
    ids = {way: f"bench-{uuid.uuid4().hex[:8]}" for way in ways}
    for conversation_id in ids.values():
        conversation_log.ensure_conversation(
            engine,
            conversation_id=conversation_id,
            workflow_id=f"conversation:bench:{conversation_id}",
            bot="bench",
            bot_version=1,
            contact_id=conversation_id,
            status="bot",
        )
    per_turn: dict[str, list[float]] = {way: [] for way in ways}
    for block in range(n // BLOCK + 1):  # block 0 warms up
        for way, write in ways.items():
            started = time.perf_counter()
            for _ in range(BLOCK):
                seq = seqs[way]
                now = datetime.now(UTC)
                entries = [
                    Message(seq=seq + 1, sender="customer", text="1", message_id=f"m{seq}", at=now),
                    Message(seq=seq + 2, sender="bot", text="Escolha", options=["1", "2"], at=now),
                ]
                write(engine, ids[way], entries)
                seqs[way] = seq + 2
            if block:
                per_turn[way].append((time.perf_counter() - started) / BLOCK * 1e6)
    print(f"turn writes on {engine.dialect.name}: {n} of each, blocks of {BLOCK}, alternating\n")
    medians = {way: statistics.median(times) for way, times in per_turn.items()}
    for way, median in medians.items():
        print(f"{way:34} {median:8.1f} µs per turn (median of blocks)")
    before, after = medians.values()
    print(f"\nratio prepared / SQLAlchemy: {after / before:.2f}")
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a SQLite file")
    args = parser.parse_args()
    main(args.n, args.postgres)
