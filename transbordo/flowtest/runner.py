"""Running conversation test files: one fresh testbed per test, a line of report per test."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bots.errors import FlowError
from bots.models import BotFlow
from transbordo.bot_files import OMNI_KEY
from transbordo.flowtest.driver import Driver
from transbordo.flowtest.format import ConversationTest, TestFile
from transbordo.flowtest.reader import find_test_files, read_test_file
from transbordo.flowtest.testbed import StepFailed, fresh_testbed

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The result of one test: passed, or the failure with its file:line and details."""

    file: Path
    name: str
    line: int
    failure: str | None = None
    details: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure is None


# --- running files -----------------------------------------------------------------------


async def run_paths(
    paths: list[Path], name_filter: str | None = None, echo: Callable[[str], None] = print
) -> list[Outcome]:
    """Run every test of every test file under `paths`; `echo` gets the report, line by line."""
    outcomes: list[Outcome] = []
    files = find_test_files(paths)
    if not files:
        echo(f"no *.test.yaml files under {', '.join(map(str, paths))}")
    for path in files:
        outcomes += await run_file(path, name_filter, echo)
    passed = sum(o.passed for o in outcomes)
    echo(f"{passed} passed, {len(outcomes) - passed} failed")
    return outcomes


async def run_file(
    path: Path, name_filter: str | None = None, echo: Callable[[str], None] = print
) -> list[Outcome]:
    try:
        spec = read_test_file(path)
        source = spec.flow.read_text(encoding="utf-8-sig")
        flow = _load_flow(source, spec.flow)
    except FlowError as exc:
        echo(f"FAIL  {path}")
        for issue in exc.issues:
            echo(f"  {issue}")
        return [Outcome(path, path.name, 1, failure=str(exc.issues[0]))]
    except OSError as exc:
        echo(f"FAIL  {path}: cannot read the flow {spec.flow}: {exc.strerror}")
        return [Outcome(path, path.name, 1, failure=f"cannot read {spec.flow}")]
    if flow.bot != spec.bot:
        echo(f"FAIL  {path}: {spec.flow} is bot {flow.bot!r}, not {spec.bot!r}")
        return [Outcome(path, path.name, 1, failure="wrong bot")]
    outcomes = []
    for test in spec.tests:
        if name_filter and name_filter.lower() not in test.name.lower():
            continue
        outcome = await run_test(spec, test, source, flow)
        outcomes.append(outcome)
        mark = "ok  " if outcome.passed else "FAIL"
        echo(f"{mark}  {spec.bot} › {test.name} ({path}:{test.line})")
        if not outcome.passed:
            echo(f"  {path}:{outcome.line}: {outcome.failure}")
            for line in outcome.details:
                echo(f"    {line}")
    return outcomes


async def run_test(spec: TestFile, test: ConversationTest, source: str, flow: BotFlow) -> Outcome:
    """One test on a fresh stack; failures become the Outcome, never exceptions."""
    outcome = Outcome(spec.path, test.name, test.line)
    try:
        async with fresh_testbed(spec, source, flow) as testbed:
            driver = Driver(testbed, flow, test)
            try:
                await driver.run()
            except StepFailed as failed:
                outcome.line, outcome.failure = failed.line, failed.message
                outcome.details = await driver.transcript_tail()
            except Exception as exc:  # noqa: BLE001 - one test's crash is that test's failure
                log.debug("test %r crashed", test.name, exc_info=True)
                outcome.line, outcome.failure = driver.line, f"{type(exc).__name__}: {exc}"
                outcome.details = await driver.transcript_tail()
    except StepFailed as failed:  # setting up (publishing, Omni) failed
        outcome.line, outcome.failure = failed.line, failed.message
    except Exception as exc:  # noqa: BLE001 - the stack did not start or stop
        log.debug("test %r: stack failed", test.name, exc_info=True)
        outcome.failure = outcome.failure or f"{type(exc).__name__}: {exc}"
    return outcome


def _load_flow(source: str, path: Path) -> BotFlow:
    from bots.loader import load_flow
    from transbordo.settings import get_settings

    env = dict(os.environ)
    for match in OMNI_KEY.finditer(source):
        if match["var"]:
            env.setdefault(match["var"], "flowtest-placeholder")
    return load_flow(source, str(path), env=env, limits=get_settings().flow_limits())


def main(paths: list[Path], name_filter: str | None = None) -> int:
    """The CLI's entry: run, print, and answer the exit code (1 when anything failed)."""
    for noisy in ("httpx", "alembic", "temporalio", "api", "activities", "store"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    outcomes = asyncio.run(run_paths(paths, name_filter))
    sys.stdout.flush()
    return 0 if outcomes and all(o.passed for o in outcomes) else 1
