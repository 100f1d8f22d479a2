"""OpenTelemetry tracing: one trace covers the API request, the workflow's update and an
activity (the SDK's TracingInterceptor on the client, FastAPI's own request spans).

The tracer provider is process-wide and can be set once: this test installs an SDK provider
whose in-memory exporter records only while the test runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from tests.conftest import conversation_handle, conversation_wid, pydantic_client
from tests.test_handoff import flow, into_queue, publish, setup_omni
from transbordo.settings import Settings
from transbordo.stack import running
from transbordo.tracing import client_interceptors
from workflows.conversation import ConversationWorkflow


class Recording(SpanProcessor):
    """Forwards ended spans to an in-memory exporter while `on` (then the provider stays,
    quietly, for the rest of the test session)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.inner = SimpleSpanProcessor(self.exporter)
        self.on = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.inner.on_end(span)


def recording() -> Recording:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    processor = Recording()
    provider.add_span_processor(processor)
    return processor


async def test_one_trace_from_the_request_to_the_workflow_and_its_activities(
    time_env, settings: Settings, engine: sa.Engine
) -> None:  # type: ignore[no-untyped-def]
    traced = settings.model_copy(update={"otel": True})
    spans = recording()
    config = pydantic_client(time_env).config()
    config["interceptors"] = client_interceptors(traced)
    client = Client(**config)
    spans.on = True
    try:
        async with running(client, traced, engine) as stack:
            omni = await setup_omni(stack.http)
            await publish(stack.http, flow(omni.key))
            spans.exporter.clear()
            await into_queue(stack.http, "rastro")  # first message starts the conversation
            handle = conversation_handle(time_env, conversation_wid("loja", "rastro"))
            await handle.signal(ConversationWorkflow.leave)
            async with time_env.time_skipping_unlocked():
                await handle.result()
    finally:
        spans.on = False
    finished = spans.exporter.get_finished_spans()
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    [first_request, *_] = sorted(
        by_name["POST /api/bots/{bot}/messages"], key=lambda span: span.start_time or 0
    )
    trace_id = first_request.context.trace_id
    names_in_trace = {span.name for span in finished if span.context.trace_id == trace_id}
    assert "StartUpdateWithStartWorkflow:ConversationWorkflow" in names_in_trace, names_in_trace
    assert "HandleUpdate:message" in names_in_trace, names_in_trace  # the workflow's update
    assert "RunActivity:record_messages" in names_in_trace, names_in_trace  # and an activity
