"""`transbordo replay`: exported histories and live conversations replayed against the code."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from temporalio import workflow

from tests.conftest import contact_hash, conversation_wid, pydantic_client, running_stack
from transbordo import replay
from transbordo.settings import Settings
from transbordo.stack import stack_ring
from workflows.conversation import ConversationWorkflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import ConversationInput, ConversationSnapshot

REPO = Path(__file__).parent.parent  # no resolve(): the sandbox re-imports this module
HISTORIES = sorted((REPO / "tests" / "histories").glob("*.json"))
DEADLINE_SECONDS = 30

QUIZ = """
bot: quiz
start: nome
blocks:
  nome: {type: question, text: Qual o seu nome?, save_as: nome, next: fim}
  fim: {type: end, text: "Até logo, {{ nome }}."}
"""


@workflow.defn(name="ConversationWorkflow")
class Unpatched(ConversationWorkflow):
    """A deploy nobody guarded: a memo before anything else (a command no recorded history
    has first: a timer would pass for the idle timer of a conversation that only began)."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        workflow.upsert_memo({"unguarded": True})
        return await super().run(input)


@workflow.defn(name="ConversationWorkflow")
class Patched(ConversationWorkflow):
    """The same change behind `workflow.patched`: old histories take the old path."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        if workflow.patched("memo-first"):
            workflow.upsert_memo({"guarded": True})
        return await super().run(input)


async def replayed(files: list[Path], **options) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    code = await replay.run(Settings(), files, echo=lines.append, **options)
    return code, lines


async def test_the_recorded_histories_replay() -> None:
    code, lines = await replayed(HISTORIES)
    assert code == 0, lines
    assert len(lines) == len(HISTORIES) + 1
    assert all(line.startswith("ok    ") for line in lines[:-1])
    assert lines[-1] == f"{len(HISTORIES)} ok, 0 failed"


async def test_an_unpatched_change_fails_and_a_patched_one_passes() -> None:
    code, lines = await replayed(HISTORIES, workflows=[Unpatched])
    assert code == 1
    failures = [line for line in lines if line.startswith("FAIL  ")]
    assert len(failures) == len(HISTORIES)
    assert all("NondeterminismError" in line for line in failures), failures
    assert lines[-1] == f"0 ok, {len(HISTORIES)} failed"

    code, lines = await replayed(HISTORIES, workflows=[Patched])
    assert code == 0, lines


def test_the_command_on_files(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "transbordo", "replay", *map(str, HISTORIES)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == f"{len(HISTORIES)} ok, 0 failed"

    missing = subprocess.run(
        [sys.executable, "-m", "transbordo", "replay", str(tmp_path / "nada.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1 and "no such file" in missing.stdout


def test_the_default_query_keeps_to_conversations() -> None:
    query = replay.conversation_query('ConversationStatus = "waiting"', hours=2)
    assert query.startswith('WorkflowType = "ConversationWorkflow" AND (ExecutionStatus = ')
    assert query.endswith(' AND (ConversationStatus = "waiting")')


async def test_live_conversations_replay_from_the_dev_server(dev_env, settings, engine) -> None:
    client = pydantic_client(dev_env)
    async with running_stack(dev_env, settings, engine, QUIZ) as http:
        for contact in ("replay-ana", "replay-bia"):
            body = {"contact_id": contact, "message_id": "1", "text": "oi"}
            answer = await http.post("/api/bots/quiz/messages", json=body)
            assert answer.status_code == 200, answer.text
        body = {"contact_id": "replay-bia", "message_id": "2", "text": "Bia"}
        assert (await http.post("/api/bots/quiz/messages", json=body)).status_code == 200
        ana, bia = contact_hash("replay-ana"), contact_hash("replay-bia")
        query = f'ContactId = "{ana}" OR ContactId = "{bia}"'
        await _visible(client, replay.conversation_query(query, 1), 2)

        code, lines = await replayed([], query=query, client=client)
        assert code == 0, lines
        assert sorted(line.split()[1] for line in lines[:-1]) == [
            *sorted(
                [conversation_wid("quiz", "replay-ana"), conversation_wid("quiz", "replay-bia")]
            )
        ]
        assert lines[-1] == "2 ok, 0 failed"

        code, lines = await replayed(
            [], query=f'ContactId = "{ana}"', client=client, workflows=[Unpatched]
        )
        ana_wid = conversation_wid("quiz", "replay-ana")
        assert code == 1 and lines[0].startswith(f"FAIL  {ana_wid} run ")

        # The command as ops type it, against the same server, filtered by status.
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": dev_env.client.namespace,
            **stack_ring().as_environment(),
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "transbordo",
                "replay",
                "--query",
                f'ContactId = "{ana}" AND ConversationStatus = "bot"',
                "--limit",
                "5",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[0].startswith(f"ok    {ana_wid} run ")
        assert done.stdout.splitlines()[-1] == "1 ok, 0 failed"


async def _visible(client, query: str, count: int) -> None:  # type: ignore[no-untyped-def]
    """Visibility trails the workflows a little: wait until the query lists them."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while True:
        found = [w async for w in client.list_workflows(query)]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            assert len(found) >= count, f"{query}: {len(found)} of {count}"
            return
        await asyncio.sleep(0.2)
