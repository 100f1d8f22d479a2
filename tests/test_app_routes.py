"""No two API routes answer the same request: the order the routers are included in
(the hot ones first, api/app.py) changes how fast a request finds its route, nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import routing
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from transbordo.settings import Settings


def test_no_route_answers_another_routes_requests(tmp_path: Path) -> None:
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path, admin_token="admin-token-0123456789abcdefghij"))
    routes = [
        (method, context.path, context.original_route, compile_path(context.path)[0])
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.original_route.methods
    ]
    assert len(routes) > 100
    overlaps = [
        (method, path, other_path)
        for method, path, route, _ in routes
        for other_method, other_path, other, pattern in routes
        if other_method == method
        and other is not route
        and pattern.match(re.sub(r"\{[^}]+\}", "x1", path))
    ]
    assert overlaps == []
