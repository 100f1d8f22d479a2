"""The API's dependencies run on the event loop unless they wait on SQL, and the hot routes
solve few of them.

FastAPI runs a plain `def` dependency in its thread pool: a thread hop on every request that
uses it (and a wait for a free thread under load). `_hub`, a one-line lookup on `next` and
`finish`, cost ~3 % of the API process's CPU that way (py-spy, bench/handoff_processes.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

from fastapi import routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from transbordo.settings import Settings

WAITS_ON_SQL = {"api.supervisor_scope.require_supervisor"}
"""Sync on purpose: they query SQL, which must not block the event loop."""


def _sync_dependencies(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        call = sub.call
        if call is not None and not (
            inspect.iscoroutinefunction(call)
            or inspect.isasyncgenfunction(call)
            or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
        ):
            yield f"{call.__module__}.{getattr(call, '__qualname__', type(call).__name__)}"
        yield from _sync_dependencies(sub)


def test_no_dependency_costs_a_thread_hop_without_reason(tmp_path: Path) -> None:
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path, admin_token="admin-token-0123456789abcdefghij"))
    found = {
        name
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for name in _sync_dependencies(context.original_route.dependant)
    }
    assert found - WAITS_ON_SQL == set()
    assert found >= WAITS_ON_SQL  # the exception is still needed


def _solved(dependant: Dependant) -> int:
    """How many dependencies FastAPI solves per request (a repeated one too: it is solved
    before the cache is looked up)."""
    return sum(1 + _solved(sub) for sub in dependant.dependencies)


HOT_ROUTES = {
    ("POST", "/api/bots/{bot}/messages"): 3,  # the 2 rate limits in one, the caller, its bearer
    ("POST", "/api/agent/next"): 6,  # the agent (router's and route's) with bearers, parts, hub
    ("POST", "/api/agent/conversations/{conversation_id}/messages"): 5,
}
"""Each dependency costs FastAPI's solving (~40 µs per request on the bench machine; these
routes solved 10, 12 and 10 before: bench/README.md, eighth pass)."""


def test_the_hot_routes_solve_few_dependencies(tmp_path: Path) -> None:
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path, admin_token="admin-token-0123456789abcdefghij"))
    solved = {
        (method, context.path): _solved(context.original_route.dependant)
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.original_route.methods
    }
    assert {route: solved[route] for route in HOT_ROUTES} == HOT_ROUTES
