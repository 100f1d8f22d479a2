"""Probes, versions and metrics that outlive an outage: the API's `/healthz` and `/readyz`, the
worker's endpoints, `transbordo --version`, `transbordo_build_info`, and `/metrics` while SQL is
down. Real parts: SQLite, a PostgreSQL engine aimed at a closed port (refused) or at a socket
that never answers (a hang), the Temporal test server, one stopped; real HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import REGISTRY, generate_latest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from store.db import make_engine
from tests.conftest import api_client, pydantic_client
from tests.test_metrics import METRICS_TOKEN, value
from transbordo.health import (
    Readiness,
    WorkerProbes,
    code_version,
    package_version,
    serve_worker_endpoints,
)
from transbordo.settings import Settings
from transbordo.stack import free_socket, time_skipping_server
from workflows.patches import CODE_VERSION

ROOT = Path(__file__).resolve().parent.parent
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound and not listening: a connection is refused at once."""
    holder = free_socket()
    yield holder.getsockname()[1]
    holder.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    holder = free_socket()
    holder.listen(8)
    yield holder.getsockname()[1]
    holder.close()  # the hung reads see the connection end and their threads return


def postgres_at(port: int) -> sa.Engine:
    return make_engine(f"postgresql://transbordo:secret-pw@127.0.0.1:{port}/transbordo")


@pytest.fixture
async def stopped_temporal() -> Client:
    """A client of a Temporal server that has been shut down."""
    async with time_skipping_server(quiet=True) as env:
        client = env.client
    return client


@pytest.fixture
async def app(
    settings: Settings, engine: sa.Engine, time_env: WorkflowEnvironment
) -> AsyncIterator[FastAPI]:
    from api.app import create_app

    update = {"metrics_token": METRICS_TOKEN, "metrics_cache_seconds": 0}
    client = pydantic_client(time_env)
    yield create_app(settings.model_copy(update=update), engine=engine, client=client)


# --- the API --------------------------------------------------------------------------------


async def test_the_probes_answer_without_credentials_on_the_real_stack(app: FastAPI) -> None:
    async with api_client(app, connector=False) as api:
        alive = await api.get("/healthz")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        readyz = await api.get("/readyz")
        assert readyz.status_code == 200, readyz.text
        assert readyz.json() == {"status": "ready", "checks": {"sql": "ok", "temporal": "ok"}}
        assert readyz.headers["cache-control"] == "no-store"
        for _ in range(3):  # no rate limit: a probe every few seconds, forever
            assert (await api.get("/readyz")).status_code == 200
        await api.get("/no-such-path")
        scraped = (await api.get("/metrics", headers=BEARER)).text
    histogram = "transbordo_http_request_duration_seconds_count"
    assert value(scraped, histogram, route="/healthz", method="GET", status="2xx") == 1
    assert value(scraped, histogram, route="/readyz", method="GET", status="2xx") == 4
    assert value(scraped, histogram, route="unmatched", method="GET", status="4xx") == 1
    build = {"version": package_version(), "code_version": str(CODE_VERSION)}
    assert value(scraped, "transbordo_build_info", **build) == 1


async def test_readyz_is_503_naming_the_checks_that_failed_and_nothing_else(
    app: FastAPI, closed_port: int, stopped_temporal: Client
) -> None:
    async with api_client(app, connector=False) as api:
        engine, client = app.state.engine, app.state.temporal
        dead_engine = postgres_at(closed_port)
        app.state.engine, app.state.temporal = dead_engine, stopped_temporal  # both go down
        try:
            down = await api.get("/readyz")
            alive = await api.get("/healthz")  # liveness checks no dependency
        finally:
            app.state.engine, app.state.temporal = engine, client
            dead_engine.dispose()
        del app.state.readiness  # its last answer is reused for a second
        again = await api.get("/readyz")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    assert down.json() == {
        "status": "not_ready",
        "checks": {"sql": "unreachable", "temporal": "unreachable"},
    }
    assert "secret-pw" not in down.text and str(closed_port) not in down.text
    assert alive.status_code == 200
    assert again.status_code == 200 and again.json()["status"] == "ready"


async def test_a_hung_database_is_a_timeout_and_never_a_second_read(
    engine: sa.Engine, time_env: WorkflowEnvironment, silent_port: int
) -> None:
    hung = postgres_at(silent_port)
    readiness = Readiness(lambda: hung, lambda: time_env.client, timeout=0.2, reuse=0)
    try:
        first = await readiness.check()
        hanging = readiness._sql
        second = await readiness.check()
        assert readiness._sql is hanging  # the first read still hangs: not started again
    finally:
        hung.dispose()
    assert first == second == {"sql": "timeout", "temporal": "ok"}


async def test_a_temporal_frontend_that_never_answers_is_a_timeout(
    engine: sa.Engine, silent_port: int
) -> None:
    silent = await Client.connect(f"127.0.0.1:{silent_port}", lazy=True)
    readiness = Readiness(lambda: engine, lambda: silent, timeout=0.2, reuse=0)
    assert await readiness.check() == {"sql": "ok", "temporal": "timeout"}


def test_a_hung_database_leaves_the_queue_figures_out_with_one_read(silent_port: int) -> None:
    from api.usecases.queue_metrics import QueueCollector

    hung = postgres_at(silent_port)
    collector = QueueCollector(lambda: hung, cache_seconds=0, read_timeout=0.2)
    try:
        first = {m.name: m.samples for m in collector.collect()}
        reading = collector._reading
        second = {m.name: m.samples for m in collector.collect()}
        assert collector._reading is reading  # the hung read is not started again
    finally:
        hung.dispose()
    for scraped in (first, second):
        assert [s.value for s in scraped["transbordo_queue_figures_error"]] == [1]
        assert scraped["transbordo_queue_waiting"] == []


async def test_a_stopped_temporal_server_is_unreachable(
    engine: sa.Engine, stopped_temporal: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="transbordo.health")
    readiness = Readiness(lambda: engine, lambda: stopped_temporal, reuse=0)
    assert await readiness.check() == {"sql": "ok", "temporal": "unreachable"}
    assert await readiness.check() == {"sql": "ok", "temporal": "unreachable"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["not ready: temporal unreachable"]  # once per change


async def test_metrics_still_answer_while_sql_is_down(
    app: FastAPI, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api.usecases.queue_metrics")
    async with api_client(app, connector=False) as api:
        assert (await api.get("/healthz")).status_code == 200
        before = (await api.get("/metrics", headers=BEARER)).text
        engine = app.state.engine
        dead_engine = postgres_at(closed_port)
        app.state.engine = dead_engine
        try:
            down = [await api.get("/metrics", headers=BEARER) for _ in range(2)]
        finally:
            app.state.engine = engine
            dead_engine.dispose()
        after = (await api.get("/metrics", headers=BEARER)).text
    assert value(before, "transbordo_queue_figures_error") == 0
    for scrape in down:
        assert scrape.status_code == 200
        assert value(scrape.text, "transbordo_queue_figures_error") == 1
        assert "transbordo_http_request_duration_seconds_count{" in scrape.text
        assert "process_cpu_seconds_total" in scrape.text
        assert "transbordo_build_info{" in scrape.text
        assert not re.search(r"^transbordo_queue_waiting\{", scrape.text, re.M)
    assert value(after, "transbordo_queue_figures_error") == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "api.usecases.queue_metrics"]
    assert lines == [  # once per failure streak, the exception's type only
        "queue figures left out of /metrics: SQL did not answer (OperationalError)",
        "queue figures back in /metrics: SQL answers again",
    ]


def test_the_api_logs_its_versions_at_start(
    settings: Settings, engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from api.app import create_app

    caplog.set_level(logging.INFO, logger="api.routes.metrics")
    create_app(settings, engine=engine)
    expected = f"API starting: transbordo {package_version()} (workflow code version 5)"
    assert expected in [r.getMessage() for r in caplog.records]


def test_the_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from transbordo.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert printed == f"transbordo {package_version()} (workflow code version {CODE_VERSION})\n"
    assert package_version() not in ("", "unknown") and code_version() == CODE_VERSION


# --- the worker -----------------------------------------------------------------------------


def test_the_worker_counters_exist_at_zero_before_any_event() -> None:
    from worker import WEBHOOK_EVENTS, register_metrics

    register_metrics()
    register_metrics()  # once per process, however often asked
    text = generate_latest(REGISTRY).decode()
    build = {"version": package_version(), "code_version": str(CODE_VERSION)}
    assert value(text, "transbordo_build_info", **build) == 1
    for event in WEBHOOK_EVENTS:
        for outcome in ("delivered", "failed", "skipped"):
            labels = {"event": event, "outcome": outcome}
            assert value(text, "transbordo_webhook_deliveries_total", **labels) is not None
    for platform in ("whatsapp", "telegram"):
        for outcome in ("sent", "template", "window_closed", "failed", "retry"):
            labels = {"platform": platform, "outcome": outcome}
            assert value(text, "transbordo_channel_sends_total", **labels) is not None


def test_every_webhook_event_a_workflow_emits_is_known() -> None:
    from worker import WEBHOOK_EVENTS

    emitted = {
        name
        for path in (ROOT / "workflows").glob("*.py")
        for name in re.findall(r'_emit\(\s*"(\w+)"', path.read_text(encoding="utf-8"))
    }
    assert emitted and emitted <= set(WEBHOOK_EVENTS), emitted - set(WEBHOOK_EVENTS)


async def test_the_worker_serves_its_probes_beside_its_metrics(
    settings: Settings, engine: sa.Engine, time_env: WorkflowEnvironment, closed_port: int
) -> None:
    holder = free_socket()
    port = holder.getsockname()[1]
    holder.close()
    client = pydantic_client(time_env)
    probes = WorkerProbes(asyncio.get_running_loop(), Readiness(lambda: engine, lambda: client))
    stop = serve_worker_endpoints(settings.model_copy(update={"worker_metrics_port": port}), probes)
    assert stop is not None
    dead_engine = postgres_at(closed_port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            alive = await http.get("/healthz")
            starting = await http.get("/readyz")
            probes.polling = True
            polling = await http.get("/readyz")
            metrics = await http.get("/metrics")
            probes.readiness = Readiness(lambda: dead_engine, lambda: client)
            sql_down = await http.get("/readyz")
    finally:
        stop()
        dead_engine.dispose()
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert starting.status_code == 503 and starting.headers["retry-after"] == "5"
    assert starting.json()["checks"] == {"worker": "not_polling", "sql": "ok", "temporal": "ok"}
    assert (polling.status_code, polling.json()["status"]) == (200, "ready")
    assert metrics.status_code == 200 and "process_cpu_seconds_total" in metrics.text
    assert sql_down.status_code == 503
    assert sql_down.json()["checks"] == {
        "worker": "ok",
        "sql": "unreachable",
        "temporal": "ok",
    }
    with pytest.raises(httpx.ConnectError):  # stopped
        async with httpx.AsyncClient() as http:
            await http.get(f"{base}/healthz")


def test_a_worker_with_no_metrics_port_serves_nothing(settings: Settings) -> None:
    assert settings.worker_metrics_port is None
    loop = asyncio.new_event_loop()
    try:
        probes = WorkerProbes(loop, Readiness(lambda: None, lambda: None))  # type: ignore[arg-type,return-value]
        assert serve_worker_endpoints(settings, probes) is None
    finally:
        loop.close()


def test_a_closed_worker_loop_is_not_alive() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    probes = WorkerProbes(loop, Readiness(lambda: None, lambda: None))  # type: ignore[arg-type,return-value]
    assert probes.alive() is False
