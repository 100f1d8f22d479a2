"""Benchmark: what the workflow sandbox costs a conversation's Update (issue 11, item 6).

    python bench/sandbox_cost.py [--n 300]

Two workers of Transbordo in this process on one dev server (in memory), one with the sandbox
(our modules passed through, `workflow_sandbox=true`) and one without (`UnsandboxedWorkflowRunner`,
the default), each on its own task queue with a conversation of the menu bot of `bot_turn.py`.
Updates go straight to the two conversations, taking turns (so both see the same machine):
wall time of each, and this process's CPU per Update measured in alternating blocks of 20.
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot_turn import BOT, FLOW, p, row  # noqa: E402

from api.usecases import delivery  # noqa: E402
from encryption.codec import ring_of  # noqa: E402
from store.db import open_database  # noqa: E402
from transbordo.settings import UNLIMITED_RATES, Settings  # noqa: E402
from transbordo.stack import dev_server, pydantic_client, running  # noqa: E402
from workflows.contracts import Contact, CustomerMessage  # noqa: E402
from workflows.conversation import ConversationWorkflow  # noqa: E402

BLOCK = 20


async def main(n: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="transbordo-bench-"))
    engine = open_database(f"sqlite:///{data / 'bench.db'}")
    try:
        async with dev_server() as env, AsyncExitStack() as stack:
            client = pydantic_client(env)
            handles = {}
            for label, sandboxed in (("sandboxed", True), ("unsandboxed", False)):
                settings = Settings(
                    data_dir=data,
                    task_queue=f"bench-{label}",
                    flows_dir=data / "none",
                    admin_token="bench-admin-token-0123456789abcdefgh",
                    workflow_sandbox=sandboxed,
                    **UNLIMITED_RATES,  # type: ignore[arg-type]
                )
                running_stack = await stack.enter_async_context(
                    running(client, settings, engine, flows=[FLOW], leave="none")
                )
                contact = f"{label}-{uuid.uuid4().hex[:6]}"
                body = {"contact_id": contact, "message_id": "first", "text": "oi"}
                first = await running_stack.http.post(f"/api/bots/{BOT}/messages", json=body)
                assert first.status_code == 200, first.text
                wid = delivery.workflow_id(ring_of(client), BOT, contact)
                handles[label] = (client.get_workflow_handle(wid), contact)
            await measure(n, handles)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


async def measure(n: int, handles: dict) -> None:  # type: ignore[type-arg]
    wall: dict[str, list[float]] = {label: [] for label in handles}
    cpu: dict[str, float] = dict.fromkeys(handles, 0.0)

    async def update(label: str, i: int) -> None:
        handle, contact = handles[label]
        message = CustomerMessage(
            message_id=f"u{i}", text="1", contact=Contact(id=contact, name=None, extra={})
        )
        await handle.execute_update(ConversationWorkflow.message, message, id=f"u{i}")

    for label in handles:  # warm-up
        for i in range(BLOCK):
            await update(label, -1 - i)
    for block in range(n // BLOCK):
        for label in handles if block % 2 else reversed(list(handles)):
            started_cpu = time.process_time()
            for i in range(block * BLOCK, (block + 1) * BLOCK):
                started = time.perf_counter()
                await update(label, i)
                wall[label].append((time.perf_counter() - started) * 1000)
            cpu[label] += time.process_time() - started_cpu
    print(f"{n} Updates straight to a conversation each, in alternating blocks of {BLOCK}\n")
    for label, latencies in wall.items():
        print(row(f"{label}: Update", latencies), f"  CPU {cpu[label] * 1000 / n:5.2f} ms/Update")
    ratio = p(wall["unsandboxed"], 0.5) / p(wall["sandboxed"], 0.5)
    cpu_ratio = cpu["unsandboxed"] / cpu["sandboxed"]
    print(f"unsandboxed / sandboxed: p50 {ratio:.2f}, CPU {cpu_ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    asyncio.run(main(parser.parse_args().n))
