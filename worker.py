"""The Temporal worker: runs conversation workflows and their activities (`python worker.py`)."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, get_args

from prometheus_client import REGISTRY
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import (
    PollerBehaviorAutoscaling,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkerTuner,
)

from activities.care import CareActivities
from activities.channel_media import ChannelMedia
from activities.channel_send import SENDS, ChannelEndpoints, ChannelSender, ChannelSent
from activities.conversation_log import ConversationLog
from activities.desk import DeskActivities
from activities.http_call import HttpCalls
from activities.omni_queue import OmniActivities
from activities.routing import RoutingActivities
from activities.supervision import SupervisionActivities
from activities.transcript_mail import SmtpConfig, TranscriptMailer
from activities.webhooks import DELIVERIES, WebhookSender
from bots.limits import FlowLimits
from channels.registry import CONNECTORS
from encryption.codec import ring_of
from store.db import open_database
from transbordo import eventloop, heap, logs
from transbordo.health import (
    Readiness,
    WorkerProbes,
    register_build_info,
    serve_worker_endpoints,
    version_text,
)
from transbordo.settings import Settings, get_settings, setting_problem
from transbordo.telemetry import sdk_runtime
from transbordo.temporal import TemporalNotReady, connect
from workflows.conversation import ConversationWorkflow
from workflows.media_fetch import MediaFetchWorkflow
from workflows.sandbox import workflow_runner

log = logging.getLogger(__name__)

ACTIVITY_THREADS = 32
"""Threads of the activity executor: every activity and local activity is a sync SQL or HTTP
step."""
WORKFLOW_TASK_SLOTS = 16
"""Workflow tasks at once. They all share one GIL (with the API, in the in-process stack), so
more at once only makes each slower; a task waiting on the server costs nothing, one started
and starved here times out after 10 s and is replayed elsewhere (the overload spiral)."""
WEBHOOK_EVENTS = (
    *("queued", "picked_up", "message", "transferred", "finished", "abandoned", "voicemail"),
    *("agent_silence", "requeued", "csat", "reassigned"),
)
"""Every event a conversation emits (`_emit` in workflows/; tests/test_health.py checks)."""
WEBHOOK_OUTCOMES = ("delivered", "failed", "skipped")
SEND_OUTCOMES = (*get_args(ChannelSent.model_fields["outcome"].annotation), "retry")


def tuner(threads: int) -> WorkerTuner:
    """Fixed slots, sized on purpose: activities and local activities never start more work than
    the executor has threads (the SDK's default of 100 each would start up to 200 on 32
    threads; the rest wait inside the executor with their start-to-close timeout running,
    which is how `record_messages` timed out under load). Local activities (the Omni steps on
    the reply's path, routing, care, and the delayed transcript batch) get half the threads, so
    slow HTTP or webhook activities cannot starve them."""
    local = max(1, threads // 2)
    return WorkerTuner.create_fixed(
        workflow_slots=WORKFLOW_TASK_SLOTS,
        activity_slots=max(1, threads - local),
        local_activity_slots=local,
    )


def build_worker(
    client: Client,
    engine: Engine,
    task_queue: str,
    executor: ThreadPoolExecutor,
    *,
    flow_limits: FlowLimits | None = None,
    channel_endpoints: ChannelEndpoints | None = None,
    smtp: SmtpConfig | None = None,
    sandboxed: bool = False,
    settings: Settings | None = None,
    **options: Any,
) -> Worker:
    """A worker for every workflow and activity of Transbordo on `task_queue` (`options` go to
    temporalio's Worker and override the defaults here, e.g. max_cached_workflows, by default
    the setting `workflow_cache_size`). The worker speaks the client's data converter (payloads
    encrypted) and reads webhook secrets with its ring; `flow_limits` are the operator's (which
    `${VAR}` an `http` block may read; default: the built-in ones). Its slots fit `executor`'s
    threads (`tuner`). `sandboxed=False` runs conversations without the SDK's sandbox (the
    setting `workflow_sandbox`; why that keeps the same determinism guard:
    workflows/sandbox.py). `settings` name the attachment store and limits (channel media;
    default: the environment's)."""
    log_activities = ConversationLog(engine)
    http_calls = HttpCalls(flow_limits or FlowLimits())
    omni = OmniActivities(engine)
    care = CareActivities(engine)
    routing = RoutingActivities(engine)
    webhooks = WebhookSender(engine, ring_of(client))
    settings = settings or get_settings()
    endpoints = channel_endpoints or channel_endpoints_of(settings)
    channels = ChannelSender(engine, ring_of(client), endpoints)
    media = ChannelMedia(
        engine,
        ring_of(client),
        endpoints,
        settings.file_store(ring_of(client)),
        settings.attachment_limits(),
    )
    threads = getattr(executor, "_max_workers", ACTIVITY_THREADS)  # no public accessor
    cache = settings.workflow_cache_size
    options = {"tuner": tuner(threads), "max_cached_workflows": cache, **options}
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ConversationWorkflow, MediaFetchWorkflow],
        workflow_runner=workflow_runner() if sandboxed else UnsandboxedWorkflowRunner(),
        activities=[
            log_activities.record,
            http_calls.call_http,
            *omni.all(),
            *care.all(),
            DeskActivities(engine).record_labels,
            *SupervisionActivities(engine).all(),
            TranscriptMailer(engine, smtp).send_transcript,
            webhooks.deliver,
            channels.send,
            channels.ack,
            media.fetch,
            media.gave_up,
            routing.dispatch,
            routing.lapse,
        ],
        activity_executor=executor,
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        **options,
    )


def channel_endpoints_of(settings: Settings | None = None) -> ChannelEndpoints:
    """The platforms' base URLs from the settings (none given: the settings' defaults)."""
    if settings is None:
        fields = Settings.model_fields
        return ChannelEndpoints(
            whatsapp=str(fields["whatsapp_api_base"].default),
            telegram=str(fields["telegram_api_base"].default),
        )
    return ChannelEndpoints(
        whatsapp=settings.whatsapp_api_base, telegram=settings.telegram_api_base
    )


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """Where transcript e-mails go out (None: no SMTP host, no mail)."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=password,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
    )


@functools.cache
def register_metrics() -> None:
    """This process's build info, and its counters at zero for every known label value, so an
    alert on them sees 0 rather than no data before the first event (once per process)."""
    register_build_info(REGISTRY)
    for event in WEBHOOK_EVENTS:
        for outcome in WEBHOOK_OUTCOMES:
            DELIVERIES.labels(event, outcome)
    for platform in CONNECTORS:
        for outcome in SEND_OUTCOMES:
            SENDS.labels(platform, outcome)


async def run_worker(settings: Settings) -> None:
    log.info("worker starting: %s", version_text())
    task = asyncio.current_task()
    if task is not None:
        stop_when_asked(task)
    register_metrics()
    engine = open_database(settings.effective_database_url)
    client = await connect(settings, runtime=sdk_runtime(settings))
    readiness = Readiness(lambda: engine, lambda: client)
    probes = WorkerProbes(asyncio.get_running_loop(), readiness)
    stop_endpoints = serve_worker_endpoints(settings, probes)  # /metrics, /healthz, /readyz
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(
            client,
            engine,
            settings.task_queue,
            executor,
            flow_limits=settings.flow_limits(),
            channel_endpoints=channel_endpoints_of(settings),
            smtp=smtp_config(settings),
            sandboxed=settings.workflow_sandbox,
            settings=settings,
        )
        log.info("worker polling task queue %s", settings.task_queue)
        heap.settle_after_startup()
        probes.polling = True
        try:
            await worker.run()
        finally:
            probes.polling = False
            if stop_endpoints is not None:
                stop_endpoints()
            engine.dispose()


def main() -> None:
    os.umask(0o077)  # files this process creates are private (transbordo/up.py)
    logs.setup(logging.INFO)
    settings = settings_or_exit()
    try:
        eventloop.run(run_worker(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except TemporalNotReady as exc:  # search attributes missing, TLS to a plaintext server...
        log.error("worker not started: %s", exc)
        raise SystemExit(2) from None
    for late in (signal.SIGINT, signal.SIGTERM):  # the closed loop gave them back their defaults
        signal.signal(late, signal.SIG_IGN)
    log.info("worker stopped")


def settings_or_exit() -> Settings:
    """The environment's settings; a bad one is one line per problem (exit 2) as `transbordo
    api` says it (transbordo/cli.py `_settings`), never pydantic's traceback, which echoes the
    value (a token)."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"transbordo: {setting_problem(error)}", file=sys.stderr)
        raise SystemExit(2) from None


def stop_when_asked(task: asyncio.Task[Any]) -> None:
    """Ctrl-C, and SIGTERM (what Kubernetes, compose and systemd send), cancel `task` once: the
    SDK then shuts the worker down cleanly instead of it dying mid-task (docs/operations.md).
    Set on the loop, whatever this process inherited: one started in the background has
    SIGINT ignored. (SIGTERM used to raise KeyboardInterrupt wherever the main thread was,
    which could leave the SDK's shutdown hanging.) A second signal is only logged: another
    cancel would cut the SDK's shutdown short (`up` sends one after the terminal's Ctrl-C)."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    def stop(name: str) -> None:
        if asked:
            log.info("%s: already stopping (SIGKILL stops at once)", name)
            return
        asked.append(name)
        log.info("%s: stopping", name)
        task.cancel()

    for signal_ in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signal_, stop, signal_.name)
        except NotImplementedError:  # Windows: asyncio's runner cancels on the first Ctrl-C
            return


if __name__ == "__main__":
    main()
