"""Metrics of the worker process: its own Prometheus endpoint and the Temporal SDK's.

Both are off unless a setting names where to serve them (docs/observability.md):
`TRANSBORDO_WORKER_METRICS_PORT` serves this process's registry (webhook deliveries, process
figures) with prometheus_client's own HTTP server; `TRANSBORDO_SDK_METRICS_ADDRESS` gives the
SDK a Runtime whose core serves its worker metrics (task slots, poll and schedule latencies).
A Runtime must exist before the client that uses it connects, so `connect` takes it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from transbordo.settings import Settings

log = logging.getLogger(__name__)


def sdk_runtime(settings: Settings) -> Runtime | None:
    """The Runtime serving the SDK's metrics at `sdk_metrics_address`; None (the SDK's default
    runtime) when unset."""
    if not settings.sdk_metrics_address:
        return None
    return _runtime_at(settings.sdk_metrics_address)


@functools.cache
def _runtime_at(address: str) -> Runtime:
    """One Runtime per address and process: a second one would bind the same port."""
    log.info("Temporal SDK metrics on http://%s/metrics", address)
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


def serve_worker_metrics(settings: Settings) -> Callable[[], None] | None:
    """Serve this process's Prometheus registry on `worker_metrics_port` (a daemon thread);
    returns the function that stops it, or None when the setting is unset."""
    if settings.worker_metrics_port is None:
        return None
    from prometheus_client import start_http_server

    server, thread = start_http_server(
        settings.worker_metrics_port, addr=settings.worker_metrics_host
    )
    log.info(
        "worker metrics on http://%s:%s/metrics",
        settings.worker_metrics_host,
        server.server_port,
    )

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop
