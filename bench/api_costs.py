"""Benchmark: CPU of the API process's per-request pieces the fourth pass changed (issue 11).

    python bench/api_costs.py [--n 2000] [--keys 100 1000] [--rate 200]

1. The agent's token check: SQL (3 SELECTs) inline, the same in a thread (as `require_agent`
   did on every request), a hit of the per-process cache (store/token_cache.py); and the
   conversation check of the agent's actions (`queue.open_entry`) inline vs in a thread.
2. Rate limits in memory: `limits`' own async memory store (what `memory://` used) vs
   `api.rate_limits.LocalWindows`, per customer message (3 rules hit), with `--keys` contacts
   known, `--rate` messages a second (the loop idle in between, as in a server: `limits`'
   store walks every key with a thread hop per key in a background task, again after each
   hit once the last walk ended, so its cost follows the wall time, not the hits).

CPU per call (time.process_time: all threads), so a shared machine's load moves it little. A
SQLite file in a temp dir, as the handoff bench. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limits import parse  # noqa: E402
from limits.aio.strategies import MovingWindowRateLimiter  # noqa: E402
from limits.storage import storage_from_string  # noqa: E402

from api.rate_limits import LocalWindows  # noqa: E402
from omni.models import AgentCreate  # noqa: E402
from store import agents as agent_store  # noqa: E402
from store import queue  # noqa: E402
from store.db import open_database  # noqa: E402

RULES = {"messages per address": "127.0.0.1", "messages per bot": "loja"}


async def per_call(name: str, n: int, call: Callable[[], Awaitable[object]]) -> None:
    for _ in range(50):
        await call()
    began = time.process_time()
    for _ in range(n):
        await call()
    print(f"   {name:<52} {(time.process_time() - began) * 1e6 / n:8.1f} us CPU per call")


async def token_checks(n: int) -> None:
    engine = open_database(f"sqlite:///{tempfile.mkdtemp(prefix='transbordo-bench-')}/a.db")
    token = agent_store.create_agent(engine, AgentCreate(name="Ana")).token

    async def nothing() -> None:
        await asyncio.to_thread(lambda: None)

    async def inline(call: Callable[[], object]) -> None:
        call()

    print("1. agent requests")
    await per_call("a thread hop alone (asyncio.to_thread)", n, nothing)
    by_token = lambda: agent_store.agent_by_token(engine, token)  # noqa: E731
    await per_call("token check, SQL inline", n, lambda: inline(by_token))
    await per_call("token check, SQL in a thread (before)", n, lambda: asyncio.to_thread(by_token))
    agent_store.agent_by_token(engine, token, cache_seconds=60)
    cached = lambda: agent_store.cached_agent(engine, token)  # noqa: E731
    await per_call("token check, cache hit (after)", n, lambda: inline(cached))
    entry = lambda: queue.open_entry(engine, "c1")  # noqa: E731
    await per_call("conversation check, SQL inline (before)", n, lambda: inline(entry))
    in_thread = lambda: asyncio.to_thread(entry)  # noqa: E731
    await per_call("conversation check, SQL in a thread (after)", n, in_thread)
    engine.dispose()


async def rate_limits(n: int, keys: int, rate: float) -> None:
    item = parse("1000000/minute")
    store = MovingWindowRateLimiter(storage_from_string("async+memory://"))
    local = LocalWindows()

    async def with_limits(i: int) -> None:
        await store.hit(item, "messages per contact", f"c{i % keys}")
        for rule, key in RULES.items():
            await store.hit(item, rule, key)

    async def with_local(i: int) -> None:
        local.wait("messages per contact", item, f"c{i % keys}", count=True)
        for rule, key in RULES.items():
            local.wait(rule, item, key, count=True)

    for name, hit in (("limits' memory store (before)", with_limits), ("LocalWindows", with_local)):
        for i in range(keys):
            await hit(i)
        began = time.process_time()
        for i in range(n):
            await hit(i)
            await asyncio.sleep(1 / rate)  # other requests' turn: the store's expiry task runs
        cpu = (time.process_time() - began) * 1e6 / n
        print(f"   {name:<30} {keys:5d} contacts {cpu:8.1f} us CPU per message (3 hits)")


async def main(args: argparse.Namespace) -> None:
    await token_checks(args.n)
    print(f"2. rate limits in memory, {args.rate:g} messages/s (the pause's own CPU included)")
    for keys in args.keys:
        await rate_limits(args.n, keys, args.rate)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="calls per figure")
    parser.add_argument("--keys", type=int, nargs="+", default=[100, 1000], help="contacts known")
    parser.add_argument("--rate", type=float, default=200, help="messages a second")
    asyncio.run(main(parser.parse_args()))
