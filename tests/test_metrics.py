"""Prometheus metrics: `/metrics` on the API (guarded), the queue figures from SQL, and the
worker's own endpoint counting webhook deliveries. Values only: no timing assertions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from omni.models import ServiceUpdate
from store import queue
from store.queue_figures import service_figures
from store.services import update_service
from store.tables import queue_entries
from tests.conftest import (
    admin_headers,
    api_client,
    conversation_handle,
    conversation_wid,
    pydantic_client,
    running_stack,
)
from tests.test_handoff import Receiver, flow, into_queue, publish, setup_omni
from tests.test_queue_store import enqueue, staffed
from transbordo.health import Readiness, WorkerProbes, serve_worker_endpoints
from transbordo.settings import Settings
from transbordo.stack import free_socket, stack_ring
from workflows.conversation import ConversationWorkflow

METRICS_TOKEN = "metrics-token-0123456789abcdefghijklmn"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels) → value, from a Prometheus text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.fixture
def metrics_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": METRICS_TOKEN, "metrics_cache_seconds": 0})


async def test_metrics_need_the_metrics_or_the_admin_token(admin_api: httpx.AsyncClient) -> None:
    agent = await admin_api.post("/api/omni/agents", json={"name": "Ana"}, headers=admin_headers())
    agent_token = {"Authorization": f"Bearer {agent.json()['token']}"}
    for headers in [{}, {"Authorization": "Bearer not-the-token"}, agent_token]:
        refused = await admin_api.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["code"] == "unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
    opened = await admin_api.get("/metrics", headers=admin_headers())
    assert opened.status_code == 200
    assert opened.headers["content-type"].startswith("text/plain")
    assert "transbordo_http_request_duration_seconds" in opened.text


async def test_the_metrics_token_opens_metrics_and_nothing_else(
    metrics_settings: Settings, engine: sa.Engine, time_env
) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app
    from tests.conftest import api_client, pydantic_client

    app = create_app(metrics_settings, engine=engine, client=pydantic_client(time_env))
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with api_client(app) as api:
        assert (await api.get("/metrics", headers=bearer)).status_code == 200
        assert (await api.get("/api/omni/services", headers=bearer)).status_code == 401


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="TRANSBORDO_METRICS_TOKEN"):
        Settings(metrics_token="short")


async def test_a_waiting_customer_shows_in_the_queue_and_request_metrics(
    time_env, metrics_settings: Settings, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with running_stack(time_env, metrics_settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        before = (await http.get("/metrics", headers=bearer)).text
        assert value(before, "transbordo_queue_waiting", service="Suporte") == 0
        await into_queue(http, "5511")
        text = (await http.get("/metrics", headers=bearer)).text
    assert value(text, "transbordo_queue_waiting", service="Suporte") == 1
    assert value(text, "transbordo_queue_waiting", service="Financeiro") == 0
    assert value(text, "transbordo_queue_in_service", service="Suporte") == 0
    oldest = value(text, "transbordo_queue_oldest_wait_seconds", service="Suporte")
    assert oldest is not None and oldest >= 0
    assert value(text, "transbordo_answer_time_seconds", service="Suporte") == 60
    assert value(text, "transbordo_service_level_percent", service="Suporte") is None  # none yet
    messages = {"route": "/api/bots/{bot}/messages", "method": "POST", "status": "2xx"}
    assert (value(text, "transbordo_http_request_duration_seconds_count", **messages) or 0) >= 2
    routes = {labels for name, labels in samples(text) if name.endswith("_count")}
    assert all("/api/conversations/conv" not in dict(labels).get("route", "") for labels in routes)
    assert value(text, "transbordo_open_streams", kind="customer") == 0


async def test_a_path_no_route_has_is_one_unmatched_series(admin_api: httpx.AsyncClient) -> None:
    for n in range(3):
        assert (await admin_api.get(f"/wp-admin/{n}.php")).status_code == 404
    text = (await admin_api.get("/metrics", headers=admin_headers())).text
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert value(text, "transbordo_http_request_duration_seconds_count", **unmatched) == 3
    assert "wp-admin" not in text


def test_queue_figures_agree_with_the_service_metrics(any_engine: sa.Engine) -> None:
    service, (ana, beto) = staffed(any_engine)
    for n in (1, 2, 3, 4):
        enqueue(any_engine, service, n)
    late = datetime.now(UTC) - timedelta(seconds=600)  # q3 waited past the 60 s answer time
    with any_engine.begin() as conn:
        conn.execute(sa.update(queue_entries).where(queue_entries.c.id == "q3").values(
            enqueued_at=late))  # fmt: skip
    assert queue.claim(any_engine, "q1", ana).code == "ok"
    assert queue.claim(any_engine, "q3", beto).code == "ok"
    assert queue.close_waiting(any_engine, "q2", "abandoned")
    expected = queue.metrics(any_engine, service)
    [figures] = service_figures(any_engine)
    assert figures.service == expected.service == "Suporte"
    assert (figures.waiting, figures.in_service) == (1, 2)
    assert (expected.waiting, expected.in_service) == (1, 2)
    assert (figures.answered, figures.answered_within_target) == (2, 1)
    assert (expected.answered, expected.answered_within_target) == (2, 1)
    assert figures.abandoned == expected.abandoned == 1
    assert figures.service_level_percent == expected.service_level_percent
    assert figures.answer_time_seconds == expected.answer_time_seconds
    assert figures.oldest_waiting_since is not None  # q4


def test_editing_the_answer_time_keeps_the_counters_monotonic(any_engine: sa.Engine) -> None:
    """A pickup counts as within the target by the answer time in force when it was picked up:
    editing the answer time afterwards neither rewrites the counter nor makes it go down (a
    Prometheus counter must not); `ServiceMetrics` recounts against today's answer time."""
    service, (ana, beto) = staffed(any_engine)  # answer time 60 s
    for n in (1, 2):
        enqueue(any_engine, service, n)
    waited = datetime.now(UTC) - timedelta(seconds=40)
    with any_engine.begin() as conn:
        conn.execute(sa.update(queue_entries).values(enqueued_at=waited))

    def scraped() -> tuple[int, int]:
        [figures] = service_figures(any_engine)
        return figures.answered, figures.answered_within_target

    def answer_time(seconds: int) -> None:
        edit = ServiceUpdate(answer_time_seconds=seconds)
        update_service(any_engine, service, edit, stack_ring())

    assert queue.claim(any_engine, "q1", ana).code == "ok"  # 40 s, within 60 s
    seen = [scraped()]
    answer_time(30)
    seen.append(scraped())
    assert queue.claim(any_engine, "q2", beto).code == "ok"  # 40 s, past 30 s
    seen.append(scraped())
    answer_time(60)
    seen.append(scraped())
    assert seen == [(1, 1), (1, 1), (2, 1), (2, 1)]
    now = queue.metrics(any_engine, service)  # both waits against today's 60 s
    assert (now.answered, now.answered_within_target) == (2, 2)


async def test_the_worker_endpoint_counts_webhook_deliveries(
    time_env, settings: Settings, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    port_holder = free_socket()
    port = port_holder.getsockname()[1]
    port_holder.close()
    probes = WorkerProbes(
        asyncio.get_running_loop(), Readiness(lambda: engine, lambda: pydantic_client(time_env))
    )  # the worker's endpoint (transbordo/health.py): its metrics are the process's registry
    stop = serve_worker_endpoints(settings.model_copy(update={"worker_metrics_port": port}), probes)
    assert stop is not None
    url = f"http://127.0.0.1:{port}/metrics"
    receiver = Receiver(failures=1)
    try:
        async with httpx.AsyncClient() as scraper:
            before = (await scraper.get(url)).text
            async with running_stack(time_env, settings, engine) as http:
                omni = await setup_omni(http, webhook={"enabled": True, "url": receiver.url})
                await publish(http, flow(omni.key))
                await into_queue(http, "gancho")
                handle = conversation_handle(time_env, conversation_wid("loja", "gancho"))
                await handle.signal(ConversationWorkflow.leave)
                async with time_env.time_skipping_unlocked():  # the run ends when delivered
                    await handle.result()
            after = (await scraper.get(url)).text
    finally:
        receiver.close()
        stop()

    def grew(event: str, outcome: str) -> float:
        name, labels = "transbordo_webhook_deliveries_total", {"event": event, "outcome": outcome}
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert grew("queued", "failed") == 1  # the receiver was down once
    assert grew("queued", "delivered") == 1
    assert grew("abandoned", "delivered") == 1


async def test_the_sdk_runtime_serves_prometheus_only_when_asked(settings: Settings) -> None:
    from transbordo.telemetry import sdk_runtime

    assert sdk_runtime(settings) is None  # off by default: the SDK's default runtime
    holder = free_socket()
    address = f"127.0.0.1:{holder.getsockname()[1]}"
    holder.close()
    asked = settings.model_copy(update={"sdk_metrics_address": address})
    runtime = sdk_runtime(asked)
    assert runtime is not None and sdk_runtime(asked) is runtime  # one per address and process
    async with httpx.AsyncClient() as scraper:
        assert (await scraper.get(f"http://{address}/metrics")).status_code == 200


@pytest.mark.parametrize("asked", [True, False])
async def test_the_access_log_names_routes_never_addresses_ids_or_queries(
    asked: bool,
    settings: Settings,
    engine: sa.Engine,
    time_env,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ops asking for an access log get a line per request with the route template; a contact's
    id or a webhook's verify token in the path or query never reaches the log."""
    from api.app import create_app

    app = create_app(
        settings.model_copy(update={"access_log": asked}),
        engine=engine,
        client=pydantic_client(time_env),
    )
    caplog.set_level("INFO", logger="transbordo.access")
    async with api_client(app) as http:
        await http.get("/api/conversations/conv-5511999", params={"contact_id": "5511988887777"})
        await http.get(
            "/api/channels/whatsapp/loja",
            params={"hub.mode": "subscribe", "hub.verify_token": "verify-secret-42"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "transbordo.access"]
    if not asked:
        assert lines == []
        return
    assert lines[0].startswith("GET /api/conversations/{conversation_id} 4"), lines
    assert lines[1].startswith("GET /api/channels/whatsapp/{bot} 4"), lines
    assert len(lines) == 2, lines
    logged = "\n".join(lines)
    for secret in ("conv-5511999", "5511988887777", "verify-secret-42", "127.0.0.1"):
        assert secret not in logged
