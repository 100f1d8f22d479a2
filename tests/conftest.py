"""Shared fixtures: real Temporal servers (time-skipping, dev), a real SQL database, real HTTP."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from encryption.codec import EncryptionCodec, clear_payloads_json, keyed_hash
from store.db import open_database
from transbordo.connector_auth import ConnectorAuth
from transbordo.settings import UNLIMITED_RATES, Settings
from transbordo.stack import (
    asgi,
    dev_server,
    end_open_conversations,
    pydantic_client,
    running,
    stack_ring,
    time_skipping_server,
)

ADMIN_TOKEN = "test-admin-token-0123456789abcdefghij"
SERVER_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
"""`gw0`, `gw1`, ... in a pytest-xdist worker process; empty in a run without workers."""


def _worker_database(url: str, worker: str) -> str:
    """Each xdist worker resets a PostgreSQL database of its own (`<db>_<worker>`, made on first
    use by `postgres_engine`): `postgres_engine` drops the whole schema, which must not happen
    under another worker's test."""
    if not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_database(SERVER_POSTGRES_URL, XDIST_WORKER)


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal test server with time skipping (for timers)."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server, with Transbordo's search attributes registered."""
    async with dev_server() as env:
        yield env


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
async def chromium():  # type: ignore[no-untyped-def]
    """One Debian Chromium per test process, driven by Playwright (never `playwright install`);
    tests take it through the `browser` fixture of tests/test_browser.py, which closes their
    contexts."""
    import shutil

    playwright_api = pytest.importorskip("playwright.async_api")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs chromium at /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("no chromium at /usr/bin/chromium (apt-get install -y chromium)")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def conversation_wid(bot: str, contact: str) -> str:
    """The workflow id of `contact`'s conversation with `bot` (a keyed hash, as in production)."""
    from api.usecases.delivery import workflow_id

    return workflow_id(stack_ring(), bot, contact)


def contact_hash(contact: str) -> str:
    """What the `ContactId` search attribute holds for `contact` on the test stacks."""
    return keyed_hash(stack_ring(), contact)


def decrypted(data: Any) -> Any:
    """An exported history (`WorkflowHistory.to_json()` parsed) with its payloads in clear."""
    return clear_payloads_json(data, EncryptionCodec(stack_ring()))


def conversation_handle(env: WorkflowEnvironment, workflow_id: str):  # type: ignore[no-untyped-def]
    """A typed handle on a conversation workflow (its result is a ConversationSnapshot)."""
    from workflows.conversation import ConversationWorkflow

    return pydantic_client(env).get_workflow_handle_for(ConversationWorkflow.run, workflow_id)


@pytest.fixture(autouse=True)
def fresh_key_ring() -> Iterator[None]:
    """Each test its own key ring, as each deployment has its own (`<data dir>/keys.json`):
    the tests share one Temporal server, so an id built from a keyed hash (a conversation's
    `conversation:{bot}:h…`, a media fetch's `media:att_…` from the platform's message id)
    must not meet the previous test's workflow of the same id. With one ring per process, a
    `wamid.in3` an earlier test sent made the same attachment id, and its closed
    `MediaFetchWorkflow` refused the next test's start (REJECT_DUPLICATE): never fetched."""
    stack_ring.cache_clear()
    yield
    stack_ring.cache_clear()


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
        **UNLIMITED_RATES,  # type: ignore[arg-type]
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    """A fresh, migrated SQLite file per test."""
    engine = open_database(settings.effective_database_url)
    yield engine
    engine.dispose()


@functools.cache
def _create_worker_database() -> None:
    """Make this worker's database (`_worker_database`) through the server's, once per process."""
    if POSTGRES_URL == SERVER_POSTGRES_URL:
        return
    name = make_url(POSTGRES_URL).database
    server = make_url(SERVER_POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[sa.Engine]:
    """A freshly migrated PostgreSQL schema; skipped only off CI when no server answers."""
    try:
        _create_worker_database()
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
async def api_client(app, *, connector: bool = True) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """Real HTTP semantics over ASGI, with the app's lifespan run around it (no worker); channel
    requests go out as each bot's connector (transbordo/connector_auth.py) unless not asked."""
    async with asgi(app) as base_url:
        transport = httpx.ASGITransport(app=app)
        auth = ConnectorAuth(lambda: app.state.engine) if connector else None
        async with httpx.AsyncClient(transport=transport, base_url=base_url, auth=auth) as client:
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


__all__ = ["Client", "admin_headers", "api_client", "pydantic_client"]


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
    async with running(pydantic_client(env), settings, engine, flows=flows) as stack:
        yield stack.http


async def _end_open_conversations(client: Client, engine: sa.Engine) -> None:
    """Leave no running workflow behind (transbordo.stack.end_open_conversations)."""
    await end_open_conversations(client, engine)


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
