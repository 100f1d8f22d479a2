"""Optional OpenTelemetry tracing: one trace from the API request to the workflow's handlers
and its activities (`TRANSBORDO_OTEL=1`, the `otel` extra; docs/observability.md).

The Temporal SDK's `TracingInterceptor` on the client carries the caller's span in Temporal
headers; the workers built on that client take the same interceptor and continue the trace in
workflows (spans made once, not on replay) and activities. FastAPI (>= 0.16x) makes the request
spans itself once a tracer provider is set. opentelemetry-sdk is imported only when tracing is
on, so the default install stays small.
"""

from __future__ import annotations

import functools
import logging
import os

from temporalio.client import Interceptor

from transbordo.settings import Settings

log = logging.getLogger(__name__)


def client_interceptors(settings: Settings) -> list[Interceptor]:
    """The tracing interceptor when tracing is on (and this process exporting), else none."""
    if not settings.otel:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    export_spans()
    return [TracingInterceptor()]


@functools.cache
def export_spans() -> None:
    """Set the process's tracer provider, exporting over OTLP/HTTP (endpoint and headers from
    the standard `OTEL_EXPORTER_OTLP_*` variables), unless one is set already (a test's, or
    one an operator's own bootstrap installed)."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    name = os.environ.get("OTEL_SERVICE_NAME", "transbordo")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing on: spans of %s go over OTLP/HTTP", name)
