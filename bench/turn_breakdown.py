"""Shape (b), step by step: where a bot turn's time goes against a bare echo Update.

    python bench/turn_breakdown.py [--n 200] [--warmup 20] [--client aiohttp|httpx] [--first]
                                   [--spacers K]

`bench/turn_processes.py`'s stack (`transbordo up`: dev server, one worker and one API process),
with bench/probe/sitecustomize.py on every Python process's path: each process writes the wall
time of its named steps (ASGI app, FastAPI dependencies, endpoint, the Temporal client's
Update, record_turn, the worker's activation and workflow code...). Calls alternate (echo
Update, bot turn); each step is attributed to the call whose window it started in. The
workflow tasks' server timestamps (SCHEDULED → STARTED → COMPLETED) come from the histories.
CPU per call of each process from /proc. With `--first`, the pair is a conversation's first
message (a new contact each) against an echo update-with-start of a new workflow. With
`--spacers K`, K echo Updates of a run of their own follow each call, outside both windows: the
product's processes wait through them (the CPU table then counts the spacers too). Not a test.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

PROBE = Path(__file__).resolve().parent / "probe"
FOLDER = Path(tempfile.mkdtemp(prefix="transbordo-probe-"))
os.environ["TRANSBORDO_BENCH_PROBE"] = str(FOLDER)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(PROBE), *filter(None, [os.environ.get("PYTHONPATH")])]
)
sys.path.insert(0, str(PROBE))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sitecustomize as probe  # noqa: E402  (the probe: before temporalio, httpx are imported)

# isort: split
import load_client  # noqa: E402  (after the probe: it imports httpx)
from bot_turn import ECHO_TASK_QUEUE, EchoWorkflow, echo_worker, first_messages, p, row, turn_pair  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402
from turn_processes import up_stack  # noqa: E402

from transbordo import eventloop  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> dict[int, str]:
    """pid → command name of `root` and its descendants."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        names[int(entry.name)] = cmd
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        found[pid] = names.get(pid, "?")
        todo += [c for c, parent in parents.items() if parent == pid]
    return found


def _cpu(pid: int) -> float:
    """User + system seconds of `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _role(cmd: str) -> str:
    for role in ("worker", "api", "temporal"):
        if f"transbordo {role}" in cmd or (role == "temporal" and "start-dev" in cmd):
            return role
    return "up" if "transbordo up" in cmd else cmd[:30]


async def measure(
    n: int,
    warmup: int,
    client: Client,
    http: load_client.Poster,
    up_pid: int,
    first: bool,
    spacers: int,
) -> None:
    run_id = uuid.uuid4().hex[:6]
    contact = f"bench-{run_id}"
    echo, echo_update, bot_turn = await turn_pair(client, http, run_id, contact)
    if first:  # the same names: "echo" is then an update-with-start, "turn" a first message
        echo_update, bot_turn = first_messages(client, http, run_id, contact)

    if 2 * n * spacers >= 2_000:
        raise SystemExit("--spacers: 2 x n x K Updates would pass the server's 2,000 per run")
    spacer = None
    if spacers:
        spacer = await client.start_workflow(
            EchoWorkflow.run, id=f"echo-{run_id}-spacer", task_queue=ECHO_TASK_QUEUE
        )
    for i in range(warmup):
        await echo_update(i)
        await bot_turn(i)
    procs = {pid: _role(cmd) for pid, cmd in _tree(up_pid).items()} | {os.getpid(): "bench"}
    cpu_before = {pid: _cpu(pid) for pid in procs}
    times: dict[str, list[float]] = {"echo": [], "turn": []}
    for i in range(n):
        for kind, call in (("echo", echo_update), ("turn", bot_turn)):
            started, t0 = time.time(), time.perf_counter()
            await call(warmup + i)
            wall = (time.perf_counter() - t0) * 1000
            times[kind].append(wall)
            probe.write(f"window {kind}", started, wall)
            for k in range(spacers):  # outside both windows: the product's processes sit idle
                assert spacer is not None
                await spacer.execute_update(EchoWorkflow.echo, str(k))
    cpu = {procs[pid]: (_cpu(pid) - cpu_before[pid]) * 1000 / n for pid in procs}
    await echo.signal(EchoWorkflow.done)
    if spacer is not None:
        await spacer.signal(EchoWorkflow.done)
    print(f"shape (b), breakdown: {n} alternating calls each\n")
    print(row("echo: Update", times["echo"]))
    print(row("bot turn: POST .../messages", times["turn"]))
    ratio = p(times["turn"], 0.5) / p(times["echo"], 0.5)
    tail = p(times["turn"], 0.99) / p(times["echo"], 0.99)
    print(f"{'turn ratio (p50; p99)':<38} {ratio:.2f}; {tail:.2f}")
    print("\nCPU ms per pair of calls (one echo + one turn), by process:")
    for role, ms in sorted(cpu.items()):
        print(f"  {role:<12} {ms:6.2f}")
    tasks = await _workflow_tasks(client, echo.id)
    _report(tasks)


async def _workflow_tasks(client: Client, echo_id: str) -> list[tuple[str, float, float, float]]:
    """(workflow, scheduled, started, completed) of every workflow task of the echo and of the
    conversation, from their histories."""
    ids = [("echo", echo_id)]
    async for found in client.list_workflows("WorkflowType = 'EchoWorkflow'"):
        if found.id != echo_id:  # --first: each update-with-start started one
            ids.append(("echo", found.id))
    async for found in client.list_workflows("WorkflowType = 'ConversationWorkflow'"):
        ids.append(("conversation", found.id))
    tasks = []
    for kind, wid in ids:
        scheduled = started = 0.0
        async for event in client.get_workflow_handle(wid).fetch_history_events():
            at = event.event_time.seconds + event.event_time.nanos / 1e9
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                scheduled = at
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                started = at
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                tasks.append((kind, scheduled, started, at))
    return tasks


Window = tuple[float, float, str]
Sample = tuple[str, str, float, float, str]


def _read_probe() -> tuple[list[Window], list[Sample]]:
    """The bench's call windows (start, end, kind) and every process's timed steps."""
    windows: list[Window] = []
    samples: list[Sample] = []
    for path in FOLDER.glob("*.jsonl"):
        role = "?"
        for line in path.read_text().splitlines():
            label, started, wall, detail = json.loads(line)
            if label == "process":
                words = detail.split()
                role = "bench" if "turn_breakdown" in detail else words[-1]
            elif label.startswith("window "):
                windows.append((started, started + wall / 1000, label[7:]))
            elif ("ASGI" not in label and "route" not in label) or "/messages" in detail:
                samples.append((role, label, started, wall, detail))
    windows.sort()
    return windows, samples


def _report(tasks: list[tuple[str, float, float, float]]) -> None:
    windows, samples = _read_probe()
    starts = [w[0] for w in windows]
    per: list[dict[str, float]] = [{} for _ in windows]
    activations: dict[str, int] = defaultdict(int)

    def place(at: float) -> int | None:
        i = bisect.bisect_right(starts, at) - 1
        return i if i >= 0 and at <= windows[i][1] else None

    def add(i: int, key: str, ms: float) -> None:
        per[i][key] = per[i].get(key, 0.0) + ms

    for role, label, started, wall, detail in samples:
        i = place(started)
        if i is not None:
            add(i, f"{role}: {label}", wall)
            if label.startswith("worker: activation ("):
                activations[f"{windows[i][2]} window, {role}: {detail}"] += 1
    for kind, scheduled, started, completed in tasks:
        i = place(started)
        if i is not None:
            add(i, f"server: WFT scheduled->started ({kind})", (started - scheduled) * 1000)
            add(i, f"server: WFT started->completed ({kind})", (completed - started) * 1000)
    for i, (begin, end, _kind) in enumerate(windows):
        _derived(per[i], (end - begin) * 1000)
    for kind in ("echo", "turn"):
        mine = [bucket for bucket, w in zip(per, windows, strict=True) if w[2] == kind]
        print(f"\n{kind}: {len(mine)} calls; per call, p50 / mean ms (calls with the step)")
        for key in sorted({k for bucket in mine for k in bucket}):
            values = [bucket.get(key, 0.0) for bucket in mine]
            seen = sum(1 for bucket in mine if key in bucket)
            median, mean = statistics.median(values), statistics.fmean(values)
            print(f"  {key:<66} {median:6.2f} / {mean:6.2f}  ({seen})")
    print()
    for detail, count in sorted(activations.items()):
        print(f"  activations in the {detail:<62} x{count}")


def _derived(bucket: dict[str, float], wall: float) -> None:
    """The differences that name the steps nothing can wrap (HTTP outside the app, ...)."""
    update = bucket.get("api: client: execute_update", bucket.get("bench: client: execute_update"))
    asgi = bucket.get("api: api: ASGI app (middlewares + route)")
    wft = sum(v for k, v in bucket.items() if k.startswith("server: WFT started->completed"))
    bucket["= bench wall"] = wall
    if asgi is not None:
        bucket["= bench wall - ASGI app (client, TCP, uvicorn parse/write)"] = wall - asgi
        if update is not None:
            bucket["= ASGI app - Update call (the API's own work)"] = asgi - update
    if update is not None:
        bucket["= Update call - WFT started->completed (server, RPC)"] = update - wft


async def main(n: int, warmup: int, http_client: str, first: bool, spacers: int) -> None:
    async with (
        up_stack(1, 1, http_client=http_client) as (client, http, up),
        echo_worker(client),
        load_client.posting(http, http_client) as poster,
    ):
        await measure(n, warmup, client, poster, up.pid, first, spacers)
    print(f"\nprobe lines in {FOLDER}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--first", action="store_true", help="first messages, not turns")
    parser.add_argument(
        "--spacers", type=int, default=0, help="echo Updates of another run after each call"
    )
    load_client.add_option(parser)
    args = parser.parse_args()
    eventloop.run(main(args.n, args.warmup, args.client, args.first, args.spacers))
