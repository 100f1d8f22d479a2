"""The Temporal SDK's metrics of a process (the worker's own endpoint, `/metrics` with its
probes, is transbordo/health.py `serve_worker_endpoints`).

Off unless a setting names where to serve them (docs/observability.md):
`TRANSBORDO_SDK_METRICS_ADDRESS` gives the SDK a Runtime whose core serves its worker metrics
(task slots, poll and schedule latencies).
A Runtime must exist before the client that uses it connects, so `connect` takes it.
"""

from __future__ import annotations

import functools
import logging

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
