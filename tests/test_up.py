"""`transbordo up` as a user runs it: real processes and ports, Ctrl-C, restart on the same data.

Each test starts `python -m transbordo up` in its own session (process group), reads the
addresses it prints, talks to the `loja` bot of the repository's flows/ over HTTP, and in the end
kills whatever is left of the group, so no dev server, worker or API outlives a test.
"""

from __future__ import annotations

import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.ports import free_ports

REPO = Path(__file__).resolve().parents[1]
FLOWS = REPO / "flows"
ADDRESS_LINES = ("API:", "Docs:", "Temporal UI:", "Tela de Atendimento:", "Admin token:", "Logs:")
ADMIN_TOKEN = "admin-secret-1-0123456789abcdefghijk"
"""At least 32 characters, like every admin token."""
"""Printed by every `up`; "Logs:" comes last, so what `up` prints at start-up is read by then."""
AGENT_TOKEN = "Demo agent token:"
START_DEADLINE_SECONDS = 120.0
STOP_DEADLINE_SECONDS = 60.0
REPLY_DEADLINE_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.1
MENU = "Como posso ajudar?"
HOURS = "Nosso time atende de segunda a sexta"
CPF = "Qual o seu CPF?"
GREETING = "Olá! Bem-vindo à Loja."
UNAVAILABLE = "Não consegui chamar uma pessoa agora"

T = TypeVar("T")


def eventually(check: Callable[[], T | None], deadline_seconds: float, what: str) -> T:
    """Poll `check` until it returns something other than None, or fail after the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {deadline_seconds}s waiting for {what}")
        time.sleep(POLL_INTERVAL_SECONDS)  # poll interval of an observable condition


@dataclass
class Up:
    """One running `transbordo up`: its process, the lines it printed, the addresses."""

    process: subprocess.Popen[str]
    data_dir: Path
    api_port: int
    temporal_port: int
    ui_port: int
    token: str
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    printed: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def read_line(self, deadline: float) -> str | None:
        """The next line of stdout (None at EOF), blocking until `deadline` (monotonic)."""
        try:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            pytest.fail(f"`transbordo up` printed nothing new in time; so far: {self.printed}")
        if line is not None:
            self.printed.append(line)
        return line

    def wait_for_addresses(self) -> dict[str, str]:
        """Block until every address line was printed; returns {label: value} of the address
        lines (the others stay in `printed`)."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        found: dict[str, str] = {}
        while not all(label in found for label in ADDRESS_LINES):
            line = self.read_line(deadline)
            if line is None:
                pytest.fail(f"`transbordo up` exited early: {self.printed}\n{self.logs()}")
            for label in ADDRESS_LINES:
                if line.startswith(label):
                    found[label] = line.removeprefix(label).strip()
        return found

    def printed_value(self, label: str) -> str | None:
        """The value of a line `up` printed as `label value`, if it printed one."""
        found = [line.removeprefix(label) for line in self.printed if line.startswith(label)]
        return found[0].strip() if found else None

    def interrupt(self) -> list[str]:
        """Ctrl-C as a terminal sends it (to the whole group); returns what was printed after."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self._printed_until_exit()

    def terminate(self) -> list[str]:
        """SIGTERM to `up` alone (as a service manager sends it); returns what was printed."""
        self.process.terminate()
        return self._printed_until_exit()

    def _printed_until_exit(self) -> list[str]:
        deadline = time.monotonic() + STOP_DEADLINE_SECONDS
        rest = []
        while (line := self.read_line(deadline)) is not None:
            rest.append(line)
        self.process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        return rest

    def logs(self) -> str:
        parts = []
        for name in ("temporal.log", "worker.log", "api.log"):
            path = self.data_dir / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-30:]))
        return "\n".join(parts)


def _pump_lines(stream, into: queue.Queue[str | None]) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def _clean_env() -> dict[str, str]:
    """The test's environment without settings that would point `up` elsewhere."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRANSBORDO_", "TEMPORAL_"))
        and key not in ("DATABASE_URL", "LOJA_OMNI_KEY")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def transbordo_up(data_dir: Path, token: str, *flags: str) -> Iterator[Up]:
    """Start `transbordo up` on free ports; kill its whole process group on the way out."""
    api_port, temporal_port, ui_port = free_ports(3)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transbordo",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(api_port),
            "--temporal-port",
            str(temporal_port),
            "--ui-port",
            str(ui_port),
            "--admin-token",
            token,
            "--flows",
            str(FLOWS),
            *flags,
        ],  # fmt: skip
        cwd=REPO,
        env=_clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    up = Up(process, data_dir, api_port, temporal_port, ui_port, token)
    reader = threading.Thread(target=_pump_lines, args=(process.stdout, up.lines), daemon=True)
    reader.start()
    try:
        yield up
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_DEADLINE_SECONDS)
        reader.join(timeout=STOP_DEADLINE_SECONDS)
        assert process.stdout is not None
        process.stdout.close()


class Customer:
    """A web chat customer: a web session of the bot (the server picks the contact), numbered
    message ids."""

    def __init__(self, bot: str = "loja") -> None:
        self.bot = bot
        self.token: str | None = None
        self.sent = 0

    def auth(self, http: httpx.Client) -> dict[str, str]:
        """The session's Authorization header (a session is opened on first use)."""
        if self.token is None:
            opened = http.post(f"/api/bots/{self.bot}/web-sessions")
            assert opened.status_code == 201, opened.text
            self.token = opened.json()["token"]
        return {"Authorization": f"Bearer {self.token}"}

    def say(self, http: httpx.Client, text: str) -> dict:  # type: ignore[type-arg]
        """Send `text`; the turn with the bot's replies (answered at once: 200)."""
        self.sent += 1
        body = {"message_id": f"m{self.sent}", "text": text}
        response = http.post(f"/api/bots/{self.bot}/messages", json=body, headers=self.auth(http))
        assert response.status_code == 200, response.text
        return response.json()


def texts(turn: dict) -> list[str]:  # type: ignore[type-arg]
    return [reply["text"] for reply in turn["replies"]]


def no_log_lines(printed: list[str]) -> None:
    """`up` prints what a person needs; its log lines (alembic, httpx...) go to the data folder."""
    logged = [line for line in printed if " INFO " in line or line.startswith("INFO")]
    assert not logged, logged


def test_up_prints_addresses_answers_stops_and_keeps_conversations(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with transbordo_up(data_dir, ADMIN_TOKEN) as up:
        printed = up.wait_for_addresses()
        assert printed == {
            "API:": up.api,
            "Docs:": f"{up.api}/docs",
            "Temporal UI:": f"http://127.0.0.1:{up.ui_port}",
            "Tela de Atendimento:": f"{up.api}/atendimento",
            "Admin token:": ADMIN_TOKEN,
            "Logs:": str(data_dir.resolve()),
        }
        agent_token = up.printed_value(AGENT_TOKEN)
        assert agent_token, up.printed
        no_log_lines(up.printed)
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            assert http.get("/docs").status_code == 200
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            bots = http.get("/api/bots", headers=admin)
            assert bots.status_code == 200 and "loja" in bots.text
            assert http.get("/api/bots", headers={"Authorization": "Bearer no"}).status_code == 401
            ana = Customer()
            first = ana.say(http, "oi")
            assert first["status"] == "bot"
            assert texts(first)[0] == GREETING
            assert texts(first)[1].startswith(MENU)
            conversation_id = first["conversation_id"]
            ui = f"http://127.0.0.1:{up.ui_port}"  # the Temporal UI reads payloads through it
            preflight = http.options(
                "/api/codec/decode",
                headers={
                    "Origin": ui,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
                },
            )
            assert preflight.status_code == 200, preflight.text
            assert preflight.headers["access-control-allow-origin"] == ui
            assert preflight.headers["access-control-allow-credentials"] == "true"
        after_stop = up.interrupt()
        assert up.process.returncode == 0, up.printed
        assert "stopped" in after_stop
        assert not _group_alive(up.process.pid), "a child of `transbordo up` outlived it"
    # the API's log has no request lines: uvicorn's name the client's address and raw query
    api_log = (data_dir / "api.log").read_text()
    assert "Application startup complete" in api_log
    assert 'HTTP/1.1"' not in api_log and conversation_id not in api_log
    # at rest: the folder is its owner's only, and so is every file in it
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert (data_dir / "keys.json").is_file()
    for path in data_dir.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path

    with transbordo_up(data_dir, ADMIN_TOKEN) as up:
        up.wait_for_addresses()
        assert up.printed_value(AGENT_TOKEN) == agent_token  # the demo is kept, not made again
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            kept = http.get(f"/api/conversations/{conversation_id}", headers=ana.auth(http))
            assert kept.status_code == 200, kept.text

            def at_the_menu() -> dict | None:  # type: ignore[type-arg]
                """The log is written in batches after the reply: it may catch up after the
                restart (the worker was stopped before its batch timer fired)."""
                row = http.get(f"/api/conversations/{conversation_id}", headers=ana.auth(http))
                row = row.json()
                return row if row["block"] == "menu" else None

            row = eventually(at_the_menu, REPLY_DEADLINE_SECONDS, "the conversation at the menu")
            assert row["status"] == "bot"
            hours = ana.say(http, "3")  # the menu answer continues the flow where it was
            assert hours["conversation_id"] == conversation_id
            assert texts(hours)[0].startswith(HOURS)
            assert texts(hours)[1].startswith(MENU)
            cpf = ana.say(http, "1")
            assert texts(cpf) == [f"{CPF} (somente os 11 números)"]

            def recorded() -> list[dict] | None:  # type: ignore[type-arg]
                """The transcript once the log (written after the reply) holds the last turn."""
                messages = http.get(
                    f"/api/conversations/{conversation_id}/messages", headers=ana.auth(http)
                ).json()
                done = messages and messages[-1]["seq"] >= cpf["replies"][-1]["seq"]
                return messages if done else None

            transcript = eventually(recorded, REPLY_DEADLINE_SECONDS, "the transcript")
            said = [m["text"] for m in transcript if m["from"] == "customer"]
            assert said == ["oi", "3", "1"]
            assert [m["seq"] for m in transcript] == list(range(1, len(transcript) + 1))
        assert "stopped" in up.interrupt()
        assert up.process.returncode == 0


def test_two_instances_run_side_by_side(tmp_path: Path) -> None:
    with (
        transbordo_up(tmp_path / "a", "token-a-0123456789abcdefghijklmnopqrs") as a,
        transbordo_up(tmp_path / "b", "token-b-0123456789abcdefghijklmnopqrs") as b,
    ):
        assert a.wait_for_addresses()["Admin token:"] == "token-a-0123456789abcdefghijklmnopqrs"
        assert b.wait_for_addresses()["Admin token:"] == "token-b-0123456789abcdefghijklmnopqrs"
        for up in (a, b):
            with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
                turn = Customer().say(http, "oi")
                assert texts(turn)[1].startswith(MENU)
                own = {"Authorization": f"Bearer {up.token}"}
                assert http.get("/api/bots", headers=own).status_code == 200
        assert all((up.data_dir / "temporal.db").exists() for up in (a, b))
        assert "stopped" in a.interrupt()
        assert a.process.returncode == 0
        assert "stopped" in b.terminate()  # SIGTERM to `up` alone stops its children too
        assert b.process.returncode == 0
        assert not _group_alive(b.process.pid), "a child of `transbordo up` outlived it"
        assert "Worker cancelled, shutting down" in (b.data_dir / "worker.log").read_text()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find children")
def test_a_child_that_dies_is_started_again(tmp_path: Path) -> None:
    with transbordo_up(tmp_path / "data", ADMIN_TOKEN) as up:
        up.wait_for_addresses()
        api = [p for p in _children(up.process.pid) if "transbordo api" in _cmdline(p)]
        assert len(api) == 1, [_cmdline(p) for p in _children(up.process.pid)]
        os.kill(api[0], signal.SIGKILL)
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not any("api exited" in line and "restarting" in line for line in up.printed):
            assert up.read_line(deadline) is not None, up.printed

        def answers() -> dict | None:  # type: ignore[type-arg]
            try:
                with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
                    return Customer().say(http, "oi")
            except httpx.TransportError:
                return None

        turn = eventually(answers, START_DEADLINE_SECONDS, "the restarted API")
        assert texts(turn)[1].startswith(MENU)
        assert "stopped" in up.interrupt()
        assert up.process.returncode == 0


def test_the_demo_hands_a_customer_to_the_agent_up_printed(tmp_path: Path) -> None:
    """A new data folder gets the Suporte service, loja's integration (its key given to the
    API without anyone exporting it) and an agent: the customer asking for a specialist waits
    in Suporte's queue, and the printed agent token picks the conversation up, at any hour."""
    data_dir = tmp_path / "data"
    with transbordo_up(data_dir, ADMIN_TOKEN) as up:
        up.wait_for_addresses()
        agent_token = up.printed_value(AGENT_TOKEN)
        assert agent_token, up.printed
        assert not any(line.startswith("Warning:") for line in up.printed), up.printed
        no_log_lines(up.printed)
        secrets_kept = list((data_dir / "demo").iterdir())
        assert {p.name for p in secrets_kept} == {"LOJA_OMNI_KEY", "agent_token"}
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in secrets_kept)
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        agent = {"Authorization": f"Bearer {agent_token}"}
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            services = http.get("/api/omni/services", headers=admin).json()
            assert [s["name"] for s in services] == ["Suporte"]
            integrations = http.get("/api/omni/integrations", headers=admin).json()
            assert [(i["bot"], i["service"]) for i in integrations] == [("loja", "Suporte")]
            agents = http.get("/api/omni/agents", headers=admin).json()
            assert [(a["name"], a["services"]) for a in agents] == [("Demo", ["Suporte"])]

            bia = Customer()
            assert texts(bia.say(http, "oi"))[0] == GREETING
            queued = bia.say(http, "2")  # Falar com um especialista: the plantão, at any hour
            assert queued["status"] == "waiting", queued
            assert texts(queued)[0] == "Vou te transferir para um especialista."
            conversation = queued["conversation_id"]
            ready = http.post("/api/agent/status", json={"status": "available"}, headers=agent)
            assert ready.status_code == 200, ready.text
            waiting = http.get("/api/agent/queue", headers=agent).json()
            assert conversation in str(waiting)
            picked = http.post(f"/api/agent/conversations/{conversation}/pickup", headers=agent)
            assert picked.status_code == 200, picked.text
            finish = http.post(
                f"/api/agent/conversations/{conversation}/finish",
                json={"return_to_bot": True},
                headers=agent,
            )
            assert finish.status_code == 200, finish.text

            def bot_took_over() -> list[str] | None:
                """The transcript once the bot has spoken again (the log is written after)."""
                messages = http.get(
                    f"/api/conversations/{conversation}/messages", headers=bia.auth(http)
                ).json()
                said = [m["text"] for m in messages]
                back = any(text.startswith("Posso ajudar em algo mais?") for text in said)
                return said if back else None

            said = eventually(bot_took_over, REPLY_DEADLINE_SECONDS, "the bot taking over")
            assert "Atendimento humano encerrado." in said
            now = http.get(f"/api/conversations/{conversation}", headers=bia.auth(http))
            assert now.json()["status"] == "bot"
        assert "stopped" in up.interrupt()


def test_no_demo_says_in_one_line_why_a_human_is_unavailable(tmp_path: Path) -> None:
    with transbordo_up(tmp_path / "data", ADMIN_TOKEN, "--no-demo") as up:
        up.wait_for_addresses()
        assert up.printed_value(AGENT_TOKEN) is None
        warnings = [line for line in up.printed if line.startswith("Warning:")]
        assert warnings == [
            "Warning: bot loja: Humano blocks answer `unavailable`: LOJA_OMNI_KEY is not set"
        ], up.printed
        no_log_lines(up.printed)
        assert not (up.data_dir / "demo").exists()
        with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as http:
            caio = Customer()
            caio.say(http, "oi")
            turn = caio.say(http, "2")
            assert turn["status"] == "ended"
            said = texts(turn)
            assert said[0].startswith(UNAVAILABLE), said  # a flow message, not silence
            assert said[-1] == "Obrigado pelo contato!"
        assert "stopped" in up.interrupt()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find children")
def test_several_workers_and_api_processes_behind_one_port(tmp_path: Path) -> None:
    """`--workers 2 --api-workers 2`: two of each, the API processes sharing the one port `up`
    holds; a killed API process leaves the port answering and is started again, and so is a
    killed worker."""
    flags = ("--workers", "2", "--api-workers", "2")
    with transbordo_up(tmp_path / "data", ADMIN_TOKEN, *flags) as up:
        up.wait_for_addresses()
        assert up.printed_value("Processes:") == "2 worker(s), 2 API (one port)"
        assert any(
            line.startswith("Note: rate limits count per API process") for line in up.printed
        )
        children = {pid: _cmdline(pid) for pid in _children(up.process.pid)}
        apis = [pid for pid, cmd in children.items() if "transbordo api --fd" in cmd]
        workers = [pid for pid, cmd in children.items() if "transbordo worker" in cmd]
        assert len(apis) == 2 and len(workers) == 2, children

        def answered() -> dict | None:  # type: ignore[type-arg]
            """A new customer is answered (a 202 while the workers start, or while the killed
            worker's tasks time out, is an answer too, but not the one looked for here)."""
            with httpx.Client(base_url=up.api, timeout=REPLY_DEADLINE_SECONDS) as fresh:
                auth = Customer().auth(fresh)
                body = {"message_id": "m1", "text": "oi"}
                turn = fresh.post("/api/bots/loja/messages", json=body, headers=auth)
                return turn.json() if turn.status_code == 200 else None

        turn = eventually(answered, START_DEADLINE_SECONDS, "a first customer answered")
        assert texts(turn)[1].startswith(MENU)
        os.kill(apis[0], signal.SIGKILL)
        os.kill(workers[0], signal.SIGKILL)
        # the port is `up`'s: a new connection is answered at once by the other API process
        assert httpx.get(f"{up.api}/openapi.json").status_code == 200
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        restarted = ("api-", "worker-")
        while not all(
            any(
                line.startswith(name) and "exited with -9; restarting" in line
                for line in up.printed
            )
            for name in restarted
        ):
            assert up.read_line(deadline) is not None, up.printed
        turn = eventually(answered, START_DEADLINE_SECONDS, "a new customer answered")
        assert texts(turn)[1].startswith(MENU)
        assert "stopped" in up.interrupt()
        assert up.process.returncode == 0
        assert not _group_alive(up.process.pid), "a child of `transbordo up` outlived it"
    ends = [
        log.read_text(errors="replace").rpartition("Finished server process")
        for log in sorted((tmp_path / "data").glob("api-*.log"))
    ]
    # an API process that stopped cleanly says nothing more (a restarted one may have been
    # stopped while still starting: that one never finished serving); the one never killed did
    assert any(finished for _, finished, _ in ends)
    assert all("Traceback" not in after for _, finished, after in ends if finished)


def test_each_worker_gets_its_own_metrics_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workers N` with metrics on: worker i serves both metrics endpoints on the configured
    ports plus i (no process started: the environment `up` gives each worker)."""
    from transbordo.settings import Settings
    from transbordo.up import _worker_env

    settings = Settings(worker_metrics_port=9100, sdk_metrics_address="0.0.0.0:9464")
    env = {
        "TRANSBORDO_WORKER_METRICS_PORT": "9100",
        "transbordo_sdk_metrics_address": "0.0.0.0:9464",  # any spelling settings accept
        "DATABASE_URL": "postgresql://db/transbordo",
    }
    envs = [_worker_env(settings, env, index) for index in range(3)]
    assert [e["TRANSBORDO_WORKER_METRICS_PORT"] for e in envs] == ["9100", "9101", "9102"]
    assert [e["TRANSBORDO_SDK_METRICS_ADDRESS"] for e in envs] == [
        "0.0.0.0:9464",
        "0.0.0.0:9465",
        "0.0.0.0:9466",
    ]
    assert all("transbordo_sdk_metrics_address" not in e for e in envs)
    assert all(e["DATABASE_URL"] == env["DATABASE_URL"] for e in envs)
    assert env["TRANSBORDO_WORKER_METRICS_PORT"] == "9100", "the shared environment is untouched"
    # the names are the ones a worker's Settings reads
    for name in ("TRANSBORDO_WORKER_METRICS_PORT", "TRANSBORDO_SDK_METRICS_ADDRESS"):
        monkeypatch.setenv(name, envs[2][name])
    assert Settings().worker_metrics_port == 9102
    assert Settings().sdk_metrics_address == "0.0.0.0:9466"


def test_metrics_off_and_ipv6_addresses_through_the_worker_environment() -> None:
    from transbordo.settings import Settings
    from transbordo.up import _worker_env

    assert _worker_env(Settings(), {"PATH": "/bin"}, 1) == {"PATH": "/bin"}
    ipv6 = Settings(sdk_metrics_address="[::1]:9464")
    assert _worker_env(ipv6, {}, 2) == {"TRANSBORDO_SDK_METRICS_ADDRESS": "[::1]:9466"}
