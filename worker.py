"""The Temporal worker: runs conversation workflows and their activities (`python worker.py`)."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

from activities.conversation_log import ConversationLog
from activities.http_call import call_http
from activities.omni_queue import OmniActivities
from activities.webhooks import WebhookSender
from encryption.codec import ring_of
from store.db import open_database
from transbordo.settings import Settings, get_settings
from transbordo.telemetry import sdk_runtime, serve_worker_metrics
from transbordo.temporal import connect
from workflows.conversation import ConversationWorkflow
from workflows.sandbox import workflow_runner

log = logging.getLogger(__name__)


def build_worker(
    client: Client,
    engine: Engine,
    task_queue: str,
    executor: ThreadPoolExecutor,
    **options: Any,
) -> Worker:
    """A worker for every workflow and activity of Transbordo on `task_queue`
    (`options` go to temporalio's Worker, e.g. max_cached_workflows). The worker speaks the
    client's data converter (payloads encrypted) and reads webhook secrets with its ring."""
    log_activities = ConversationLog(engine)
    omni = OmniActivities(engine)
    webhooks = WebhookSender(engine, ring_of(client))
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ConversationWorkflow],
        workflow_runner=workflow_runner(),
        activities=[log_activities.record, call_http, *omni.all(), webhooks.deliver],
        activity_executor=executor,
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        **options,
    )


async def run_worker(settings: Settings) -> None:
    engine = open_database(settings.effective_database_url)
    client = await connect(settings, runtime=sdk_runtime(settings))
    serve_worker_metrics(settings)
    with ThreadPoolExecutor(max_workers=32) as executor:
        worker = build_worker(client, engine, settings.task_queue, executor)
        log.info("worker polling task queue %s", settings.task_queue)
        try:
            await worker.run()
        finally:
            engine.dispose()


def main() -> None:
    os.umask(0o077)  # files this process creates are private (transbordo/up.py)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(run_worker(get_settings()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
