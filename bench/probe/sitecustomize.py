"""bench/turn_breakdown.py's probe: times named steps in every Python process it starts.

Put on PYTHONPATH with TRANSBORDO_BENCH_PROBE=<folder>; each process then appends one JSON line
per timed call to `<folder>/<pid>.jsonl`: [label, start (epoch s), wall ms, detail]. The steps
are wrapped when their modules are first imported (an import hook), so the API and the worker
run unchanged. Off (nothing imported, nothing wrapped) without the variable. Not a test.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

FOLDER = os.environ.get("TRANSBORDO_BENCH_PROBE")
_lock = threading.Lock()
_out: Any = None


def write(label: str, started: float, wall_ms: float, detail: str = "") -> None:
    global _out
    with _lock:
        if _out is None:
            assert FOLDER is not None
            _out = open(os.path.join(FOLDER, f"{os.getpid()}.jsonl"), "a", buffering=1)  # noqa: SIM115
            role = " ".join(sys.argv[:3])
            _out.write(json.dumps(["process", time.time(), 0.0, role]) + "\n")
        _out.write(json.dumps([label, started, wall_ms, detail]) + "\n")


def timed(label: str, detail: Callable[..., str] | None = None) -> Callable[[Any], Any]:
    """Wrap a function (sync or async) so each call is written as one line."""

    def wrap(function: Any) -> Any:
        if getattr(function, "_probed", False):
            return function
        if _is_async(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                started, t0 = time.time(), time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    extra = detail(*args, **kwargs) if detail else ""
                    write(label, started, (time.perf_counter() - t0) * 1000, extra)

            async_wrapper._probed = True  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, t0 = time.time(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                extra = detail(*args, **kwargs) if detail else ""
                write(label, started, (time.perf_counter() - t0) * 1000, extra)

        wrapper._probed = True  # type: ignore[attr-defined]
        return wrapper

    return wrap


def _is_async(function: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)


def _patch(owner: Any, name: str, label: str, detail: Callable[..., str] | None = None) -> None:
    setattr(owner, name, timed(label, detail)(getattr(owner, name)))


def _scope_path(_self: Any, scope: dict[str, Any], *_: Any) -> str:
    return f"{scope.get('method', '')} {scope.get('path', '')}"


def _jobs(_self: Any, act: Any) -> str:
    kinds = sorted({job.WhichOneof("variant") for job in act.jobs})
    return ",".join(kinds)


def _activation_detail(self: Any, act: Any) -> str:
    running = self._running_workflows.get(act.run_id)
    kind = running.get_info().workflow_type if running else "new"
    return f"{kind}|{_jobs(None, act)}"


def _cycle_path(self: Any, *_: Any) -> str:
    return _scope_path(None, self.scope)


def _h11(module: Any) -> None:
    label = "api: ASGI app (middlewares + route)"
    _patch(module.RequestResponseCycle, "run_asgi", label, _cycle_path)


def _starlette_routing(module: Any) -> None:
    _patch(module.Route, "handle", "api: route (body, deps, endpoint, response)", _scope_path)


def _fastapi_routing(module: Any) -> None:
    _patch(module, "solve_dependencies", "api: dependencies (auth, limits, body model)")
    _patch(module, "run_endpoint_function", "api: endpoint")
    _patch(module, "serialize_response", "api: response model")


def _delivery(module: Any) -> None:
    _patch(module, "send", "api: delivery.send")
    _patch(module, "_delivered", "api: _delivered (record_turn + thread hop + model)")
    _patch(module, "_known", "api: _known (SQL before the Update: conversation, bot version)")


def _conversations(module: Any) -> None:
    _patch(module, "record_turn", "api: SQL record_turn")
    _patch(module, "ensure_conversation", "api: SQL ensure_conversation (202 path, fallback)")


def _loop_statements(module: Any) -> None:
    _patch(module, "write", "api: SQL the turn's one statement on the loop (PostgreSQL)")


def _psycopg_dialect(module: Any) -> None:
    _patch(module._PGDialect_common_psycopg, "do_ping", "SQL: pool ping (PostgreSQL)")


def _client(module: Any) -> None:
    _patch(module.WorkflowHandle, "execute_update", "client: execute_update")


def _client_class(module: Any) -> None:
    label = "client: execute_update"  # the first message's update-with-start, the same step
    _patch(module.Client, "execute_update_with_start_workflow", label)


def _converter(module: Any) -> None:
    _patch(module.DataConverter, "encode", "converter: encode")
    _patch(module.DataConverter, "decode", "converter: decode")


_profiled = {"calls": 0}


def _profiling(function: Any) -> Any:
    """With TRANSBORDO_BENCH_CPROFILE: workflow activations under cProfile, the stats written
    to `<folder>/<pid>.prof` every 50 activations."""
    import cProfile

    profile = cProfile.Profile()

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        profile.enable()
        try:
            return function(*args, **kwargs)
        finally:
            profile.disable()
            _profiled["calls"] += 1
            if _profiled["calls"] % 50 == 0:
                profile.dump_stats(os.path.join(FOLDER or ".", f"{os.getpid()}.prof"))

    return wrapper


def _worker(module: Any) -> None:
    if os.environ.get("TRANSBORDO_BENCH_CPROFILE"):
        module._RunningWorkflow.activate = _profiling(module._RunningWorkflow.activate)
    _patch(
        module._WorkflowWorker,
        "_handle_activation",
        "worker: activation (decode, run, encode, complete)",
        _activation_detail,
    )
    _patch(module._RunningWorkflow, "activate", "worker: workflow code (thread)", _jobs)


def _bridge_worker(module: Any) -> None:
    _patch(module, "decode_activation", "worker: decode activation")
    _patch(module, "encode_completion", "worker: encode completion")
    label = "worker: complete_workflow_activation (core + server)"
    _patch(module.Worker, "complete_workflow_activation", label)


HOOKS: dict[str, Callable[[Any], None]] = {
    "uvicorn.protocols.http.h11_impl": _h11,
    "uvicorn.protocols.http.httptools_impl": _h11,
    "starlette.routing": _starlette_routing,
    "fastapi.routing": _fastapi_routing,
    "api.usecases.delivery": _delivery,
    "store.conversations": _conversations,
    "store.loop_statements": _loop_statements,
    "sqlalchemy.dialects.postgresql._psycopg_common": _psycopg_dialect,
    "temporalio.client._workflow": _client,
    "temporalio.client._client": _client_class,
    "temporalio.converter._data_converter": _converter,
    "temporalio.worker._workflow": _worker,
    "temporalio.bridge.worker": _bridge_worker,
}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, hook: Callable[[Any], None]) -> None:
        self._inner, self._hook = inner, hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self._inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._inner.exec_module(module)
        self._hook(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        hook = HOOKS.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(name, path, target)  # type: ignore[attr-defined]
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, hook)
                return spec
        return None


def install() -> None:
    if FOLDER and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()


def _profile_api() -> None:
    """With TRANSBORDO_BENCH_CPROFILE_API: each API process's event-loop thread under cProfile
    from start-up to exit (`python -m transbordo api [--fd N]`: argv is `-m api ...` when this
    runs), the stats written to `<folder>/api-<pid>.prof`."""
    import atexit
    import cProfile

    profile = cProfile.Profile()
    profile.enable()

    @atexit.register
    def dump() -> None:
        profile.disable()
        profile.dump_stats(os.path.join(FOLDER or ".", f"api-{os.getpid()}.prof"))


if FOLDER and os.environ.get("TRANSBORDO_BENCH_CPROFILE_API") and sys.argv[1:2] == ["api"]:
    _profile_api()
