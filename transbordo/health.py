"""What a probe and an operator ask a process: which version runs, and whether it can work.

- **Versions.** The package's version (pyproject.toml) and the workflow code version
  (`workflows.patches.CODE_VERSION`, which the upgrade order goes by: every worker before the
  API, docs/operations.md): `transbordo --version`, each process's first log line and the
  `transbordo_build_info` gauge of both metrics endpoints.
- **Readiness.** `Readiness.check()`: SQL answers `SELECT 1` and Temporal's frontend answers its
  gRPC health check, each within `CHECK_TIMEOUT_SECONDS`. One check at a time per process, its
  answer reused for `REUSE_SECONDS`, so probes (or strangers: the API's `/readyz` is public)
  cost at most one SQL query and one Temporal call a second; an SQL read that hangs is never
  started again until it returns (a daemon thread: it holds up no exit). The answer names each
  check's state (`ok`, `timeout`, `unreachable`, `not_serving`), never an error's text (which
  may hold a host or a connection string); a change is logged once.
- **The worker's endpoints.** `serve_worker_endpoints`: the worker's Prometheus registry on
  `/metrics`, beside `/healthz` (its event loop answers) and `/readyz` (polling, and the checks
  above), on `TRANSBORDO_WORKER_METRICS_PORT` (docs/observability.md).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the CLI imports this module for --version: nothing heavy at import
    from wsgiref.types import StartResponse, WSGIEnvironment

    from prometheus_client import CollectorRegistry
    from sqlalchemy import Engine
    from temporalio.client import Client

    from transbordo.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

CHECK_TIMEOUT_SECONDS = 2.0
"""The longest each readiness check waits (probes: a timeout above it, e.g. 3 s)."""
REUSE_SECONDS = 1.0
"""A readiness answer younger than this is given again without asking SQL or Temporal."""
LOOP_TIMEOUT_SECONDS = 5.0
"""The worker's `/healthz`: its event loop must run a callback within this."""
RETRY_AFTER_SECONDS = 5
"""`Retry-After` of a 503 from `/readyz`."""


# --- versions -------------------------------------------------------------------------------


def package_version() -> str:
    """The installed package's version (`unknown` when run from sources never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transbordo")
    except PackageNotFoundError:
        return "unknown"


def code_version() -> int:
    """The workflow code version this process runs (`workflows.patches.CODE_VERSION`)."""
    from workflows.patches import CODE_VERSION

    return CODE_VERSION


def version_text() -> str:
    return f"transbordo {package_version()} (workflow code version {code_version()})"


class VersionFlag(argparse.Action):
    """`transbordo --version`: the versions, read only when asked (the CLI starts light)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the package and workflow code versions and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(version_text())  # on stdout, as argparse's own version action
        parser.exit()


def register_build_info(registry: CollectorRegistry) -> None:
    """`transbordo_build_info{version, code_version} 1` in `registry`."""
    from prometheus_client import Gauge

    info = Gauge(
        "transbordo_build_info",
        "Always 1: the package version and the workflow code version this process runs.",
        ["version", "code_version"],
        registry=registry,
    )
    info.labels(package_version(), str(code_version())).set(1)


# --- readiness ------------------------------------------------------------------------------


def in_daemon_thread(call: Callable[[], T], name: str) -> concurrent.futures.Future[T]:
    """`call()` in a daemon thread of its own: a call that hangs (a database that stopped
    answering) neither holds a pool's thread nor the process's exit."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    future.set_running_or_notify_cancel()  # a caller's timeout cannot cancel it: it runs

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def select_one(engine: Engine) -> None:
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class Readiness:
    """The readiness checks of one process (the API's or a worker's) on its loop."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        client: Callable[[], Client],
        timeout: float = CHECK_TIMEOUT_SECONDS,
        reuse: float = REUSE_SECONDS,
    ) -> None:
        self._engine = engine
        self._client = client
        self._timeout = timeout
        self._reuse = reuse
        self._sql: concurrent.futures.Future[None] | None = None
        self._running: asyncio.Task[dict[str, str]] | None = None
        self._answer: dict[str, str] = {}
        self._answered_at = float("-inf")

    async def check(self) -> dict[str, str]:
        """Check name → `ok` or what went wrong; every one `ok` means ready."""
        if time.monotonic() - self._answered_at < self._reuse:
            return dict(self._answer)
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._check())
        return dict(await asyncio.shield(self._running))  # a caller gone cancels no other's

    async def _check(self) -> dict[str, str]:
        sql, temporal = await asyncio.gather(self._check_sql(), self._check_temporal())
        answer = {"sql": sql, "temporal": temporal}
        if answer != self._answer:
            failed = {name: state for name, state in answer.items() if state != "ok"}
            if failed:
                log.warning("not ready: %s", ", ".join(f"{k} {v}" for k, v in failed.items()))
            elif self._answer:
                log.info("ready again: SQL and Temporal answer")
        self._answer, self._answered_at = answer, time.monotonic()
        return answer

    async def _check_sql(self) -> str:
        if self._sql is None or self._sql.done():  # never a second read beside a hung one
            engine = self._engine()
            self._sql = in_daemon_thread(lambda: select_one(engine), "readiness-sql")
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._sql), self._timeout)
        except TimeoutError:
            return "timeout"
        except Exception:  # noqa: BLE001 - any failure is "not answering"; its text is not said
            return "unreachable"
        return "ok"

    async def _check_temporal(self) -> str:
        from temporalio.service import RPCError, RPCStatusCode

        seconds = timedelta(seconds=self._timeout)
        service = self._client().service_client
        try:
            serving = await asyncio.wait_for(
                service.check_health(timeout=seconds), self._timeout + 0.5
            )
        except TimeoutError:
            return "timeout"
        except RPCError as exc:
            if exc.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
                return await self._system_info(seconds)  # a front end without gRPC health
            return "timeout" if exc.status == RPCStatusCode.DEADLINE_EXCEEDED else "unreachable"
        except Exception:  # noqa: BLE001 - as above
            return "unreachable"
        return "ok" if serving else "not_serving"

    async def _system_info(self, seconds: timedelta) -> str:
        """Temporal answers its system info (what `connect` asks): where the gRPC health check
        is not served or not allowed (a hosted front end)."""
        from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

        try:
            await asyncio.wait_for(
                self._client().workflow_service.get_system_info(
                    GetSystemInfoRequest(), timeout=seconds
                ),
                self._timeout + 0.5,
            )
        except TimeoutError:
            return "timeout"
        except Exception:  # noqa: BLE001 - as above
            return "unreachable"
        return "ok"


def ready(checks: dict[str, str]) -> bool:
    return all(state == "ok" for state in checks.values())


def readiness_body(checks: dict[str, str]) -> dict[str, Any]:
    return {"status": "ready" if ready(checks) else "not_ready", "checks": checks}


# --- the worker's endpoints -----------------------------------------------------------------


class WorkerProbes:
    """What the worker's `/healthz` and `/readyz` answer, from the endpoint's threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop, readiness: Readiness) -> None:
        self.loop = loop
        self.readiness = readiness
        self.polling = False
        """Set while `Worker.run` runs (worker.run_worker)."""

    def alive(self) -> bool:
        """The worker's event loop runs a callback within `LOOP_TIMEOUT_SECONDS`."""
        ran = threading.Event()
        try:
            self.loop.call_soon_threadsafe(ran.set)
        except RuntimeError:  # the loop is closed
            return False
        return ran.wait(LOOP_TIMEOUT_SECONDS)

    def checks(self) -> dict[str, str]:
        checks = {"worker": "ok" if self.polling else "not_polling"}
        asked = asyncio.run_coroutine_threadsafe(self.readiness.check(), self.loop)
        try:
            checks.update(asked.result(CHECK_TIMEOUT_SECONDS + LOOP_TIMEOUT_SECONDS))
        except Exception:  # noqa: BLE001 - the loop did not answer (or is gone)
            asked.cancel()
            checks["loop"] = "timeout"
        return checks


PROBES_AT_ONCE = 4
"""Probes the worker's endpoint answers at a time; more are 503 `busy` at once (each may wait
for the event loop a few seconds, one thread each)."""


def worker_app(probes: WorkerProbes, registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: `/healthz`, `/readyz`, and prometheus_client's exposition everywhere else."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry)
    probing = threading.BoundedSemaphore(PROBES_AT_ONCE)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path not in ("/healthz", "/readyz"):
            answer: Iterable[bytes] = metrics(environ, start_response)
            return answer
        if not probing.acquire(blocking=False):  # a flood while the loop stalls: no pile-up
            return _json(start_response, 503, {"status": "busy"})
        try:
            if path == "/healthz":
                alive = probes.alive()
                body: dict[str, Any] = {"status": "ok" if alive else "loop_stuck"}
                return _json(start_response, 200 if alive else 503, body)
            checks = probes.checks()
            return _json(start_response, 200 if ready(checks) else 503, readiness_body(checks))
        finally:
            probing.release()

    return app


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    headers += [("Cache-Control", "no-store")]
    if status == 503:
        headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
    start_response("200 OK" if status == 200 else "503 Service Unavailable", headers)
    return [data]


def serve_worker_endpoints(
    settings: Settings, probes: WorkerProbes, registry: CollectorRegistry | None = None
) -> Callable[[], None] | None:
    """Serve `worker_app` (default: the process's registry) on `worker_metrics_host` and
    `worker_metrics_port` in daemon threads, as prometheus_client's `start_http_server` does;
    returns the function that stops it (None: the port is unset, nothing served)."""
    if settings.worker_metrics_port is None:
        return None
    import socket
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import REGISTRY
    from prometheus_client.exposition import ThreadingWSGIServer

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """No line per request (probes come every few seconds)."""

    class Server(ThreadingWSGIServer):
        """Its own class: the address family is set per server (IPv6 hosts)."""

    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    Server.address_family = family
    app = worker_app(probes, registry or REGISTRY)
    server = make_server(str(address[0]), port, app, Server, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="worker-endpoints", daemon=True)
    thread.start()
    log.info("worker metrics and probes on http://%s:%s (/metrics, /healthz, /readyz)",
             host, server.server_port)  # fmt: skip

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop
