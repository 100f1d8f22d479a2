"""Benchmark: CPU of one hit of the agent token cache (store/token_cache.AGENTS.cached) with a
PostgreSQL URL (the engine is made, never connected). Not a test.

    python bench/agent_token_hit.py
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omni.models import AgentPublic  # noqa: E402
from store.token_cache import AGENTS as agent_tokens  # noqa: E402

URL = "postgresql+psycopg://transbordo:secret@db.example:5432/transbordo?sslmode=require"


def main(n: int = 200_000) -> None:
    engine = sa.create_engine(URL)
    when = datetime.now(UTC)
    agent = AgentPublic(
        id="agt", name="A", services=[], capacity=1, status="offline", created_at=when,
        updated_at=when,
    )  # fmt: skip
    token_hash = "h" * 64
    agent_tokens.keep(engine, token_hash, agent, 60, agent_tokens.generation())
    began = time.process_time()
    for _ in range(n):
        agent_tokens.cached(engine, token_hash)
    cpu = (time.process_time() - began) * 1e6 / n
    print(f"{cpu:.2f} us CPU per cache hit (PostgreSQL URL)")


if __name__ == "__main__":
    main()
