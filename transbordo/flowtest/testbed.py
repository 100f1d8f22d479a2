"""One conversation test's testbed: the in-process stack on its own time-skipping server and
SQLite file, with the Omni setup the bot needs (services, integrations, agents) and the bot
published with the integration's key."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bots.models import BotFlow, HumanBlock
from transbordo.bot_files import DEFAULT_SERVICE, OMNI_KEY
from transbordo.flowtest.format import TestFile
from transbordo.settings import UNLIMITED_RATES, Settings
from transbordo.stack import StackError, pydantic_client, running, time_skipping_server

log = logging.getLogger(__name__)

DEFAULT_AGENT = "Agente"


class StepFailed(Exception):
    """A step did not go as the test says; `line` is the step's line in the test file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Testbed:
    """What one test runs on."""

    env: WorkflowEnvironment
    client: Client
    engine: Engine
    http: httpx.AsyncClient
    admin: dict[str, str]
    agents: dict[str, dict[str, str]] = field(default_factory=dict)
    omni_key: str = ""

    __test__ = False  # not a pytest class


@asynccontextmanager
async def fresh_testbed(spec: TestFile, source: str, flow: BotFlow) -> AsyncIterator[Testbed]:
    """A new server, database, worker and API for one test; the bot published, Omni set up."""
    from store.db import open_database

    admin_token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="transbordo-test-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            admin_token=admin_token,
            task_queue=f"flowtest-{uuid.uuid4().hex[:12]}",
            flows_dir=Path(tmp) / "no-flows",
            reply_timeout_seconds=10,
            **UNLIMITED_RATES,  # type: ignore[arg-type]
        )
        engine = open_database(settings.effective_database_url)
        try:
            async with time_skipping_server(quiet=True) as env:
                client = pydantic_client(env)
                async with running(client, settings, engine, leave="best-effort") as stack:
                    admin = {"Authorization": f"Bearer {admin_token}"}
                    testbed = Testbed(env, client, engine, stack.http, admin)
                    await _set_up_omni(testbed, spec, flow)
                    _publish(engine, spec, source, testbed)
                    yield testbed
        except StackError as exc:
            raise StepFailed(1, str(exc)) from exc
        finally:
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


async def _set_up_omni(stack: Testbed, spec: TestFile, flow: BotFlow) -> None:
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
    made: dict[str, Any] = response.json()
    return made


def _publish(engine: Engine, spec: TestFile, source: str, stack: Testbed) -> None:
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
