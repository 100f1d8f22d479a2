"""Shared fixtures: real Temporal servers (time-skipping, dev), a real SQL database, real HTTP."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.db import open_database
from transbordo.settings import Settings
from transbordo.temporal import SEARCH_ATTRIBUTES, register_search_attributes

ADMIN_TOKEN = "test-admin-token"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal test server with time skipping (for timers)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=shutil.which("temporal-test-server")
    )
    await register_search_attributes(env.client, env.client.namespace)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server, with Transbordo's search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


def pydantic_client(env: WorkflowEnvironment) -> Client:
    """The environment's client, speaking the pydantic data converter like production."""
    return Client(**{**env.client.config(), "data_converter": pydantic_data_converter})


def conversation_handle(env: WorkflowEnvironment, workflow_id: str):  # type: ignore[no-untyped-def]
    """A typed handle on a conversation workflow (its result is a ConversationSnapshot)."""
    from workflows.conversation import ConversationWorkflow

    return pydantic_client(env).get_workflow_handle_for(ConversationWorkflow.run, workflow_id)


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path: Path, task_queue: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        admin_token=ADMIN_TOKEN,
        task_queue=task_queue,
        flows_dir=tmp_path / "no-flows",
        reply_timeout_seconds=10,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    """A fresh, migrated SQLite file per test."""
    engine = open_database(settings.effective_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[sa.Engine]:
    """A freshly migrated PostgreSQL schema; skipped only off CI when no server answers."""
    try:
        probe = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with probe.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        probe.dispose()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}: {exc}")
    engine = open_database(POSTGRES_URL)
    yield engine
    engine.dispose()


@asynccontextmanager
async def api_client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """Real HTTP semantics over ASGI, with the app's lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def admin_api(settings: Settings, engine: sa.Engine, time_env: WorkflowEnvironment):
    """The API app (no worker) with a real SQLite DB, for admin routes."""
    from api.app import create_app

    app = create_app(settings, engine=engine, client=pydantic_client(time_env))
    async with api_client(app) as client:
        yield client


__all__ = ["Client", "admin_headers", "api_client"]


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request: pytest.FixtureRequest) -> sa.Engine:
    """The SQLite file, then the PostgreSQL schema: store and admin tests run on both."""
    return request.getfixturevalue("engine" if request.param == "sqlite" else "postgres_engine")


@pytest.fixture
async def any_admin_api(settings: Settings, any_engine: sa.Engine, time_env: WorkflowEnvironment):
    """Like ``admin_api``, on each database of ``any_engine``."""
    from api.app import create_app

    app = create_app(settings, engine=any_engine, client=pydantic_client(time_env))
    async with api_client(app) as client:
        yield client


@asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment, settings: Settings, engine: sa.Engine, *flows: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Worker + API on `env`, with `flows` (YAML sources) published; yields the HTTP client."""
    from concurrent.futures import ThreadPoolExecutor

    from api.app import create_app
    from api.usecases.publishing import publish_source
    from worker import build_worker

    client = pydantic_client(env)
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(client, engine, settings.task_queue, executor):
            for source in flows:
                bot = source.split("bot:", 1)[1].split()[0]
                publish_source(engine, bot, source)
            app = create_app(settings, engine=engine, client=client)
            try:
                async with api_client(app) as http:
                    yield http
            finally:
                await _end_open_conversations(client, engine)


async def _end_open_conversations(client: Client, engine: sa.Engine) -> None:
    """Leave no running workflow behind. Conversations are ended by their own `leave` path
    (not terminated): a workflow terminated while its recording activity is in flight keeps
    the shared time-skipping server from skipping time for the tests that follow."""
    from temporalio.client import WorkflowExecutionStatus

    from store.tables import conversations
    from workflows.conversation import ConversationWorkflow

    with engine.connect() as conn:
        ids = set(conn.scalars(sa.select(conversations.c.workflow_id)))
    for workflow_id in ids:
        handle = client.get_workflow_handle(workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.signal(ConversationWorkflow.leave)
            await handle.result()


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit with pytest's own status before interpreter teardown: the Temporal SDK can crash
    at exit (sdk-python#300, PyGILState_Release) after every test passed, which would turn a
    green run red (or hide a red one behind a signal)."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
