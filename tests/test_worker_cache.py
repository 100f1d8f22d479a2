"""The worker's workflow cache is the operator's setting (`workflow_cache_size`): its size trades
replays against memory and the garbage collector's pauses (bench/README.md, seventh pass)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from transbordo.settings import Settings
from transbordo.stack import pydantic_client
from worker import build_worker


async def test_the_worker_keeps_as_many_conversations_as_the_setting_says(
    settings: Settings,
    engine: sa.Engine,
    time_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRANSBORDO_WORKFLOW_CACHE_SIZE", "150")
    configured = Settings(**settings.model_dump(exclude={"workflow_cache_size"}))
    client = pydantic_client(time_env)
    with ThreadPoolExecutor(max_workers=2) as executor:
        worker = build_worker(client, engine, settings.task_queue, executor, settings=configured)
        assert worker.config()["max_cached_workflows"] == 150
        other_queue = f"{settings.task_queue}-default"  # one worker per task queue and client
        default = build_worker(client, engine, other_queue, executor, settings=settings)
        assert default.config()["max_cached_workflows"] == 400


def test_a_cache_size_out_of_range_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for wrong in ("0", "-5", "100001", "many"):
        monkeypatch.setenv("TRANSBORDO_WORKFLOW_CACHE_SIZE", wrong)
        with pytest.raises(ValidationError, match="workflow_cache_size"):
            Settings()
    for right in (1, 100_000):
        monkeypatch.setenv("TRANSBORDO_WORKFLOW_CACHE_SIZE", str(right))
        assert Settings().workflow_cache_size == right
