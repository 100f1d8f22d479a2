"""No two API routes answer the same request, so the order the routers are included in (the
hot ones first, api/app.py: a request tries them in order) decides how fast a request finds
its route, not which one. What the order still decides: the order of `/openapi.json`'s paths,
the `Allow` header of a 405 when routers share a path under different methods, and which route
a name resolves to in `url_path_for` (route names repeat across routers; nothing here builds
URLs by name)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import routing
from fastapi.routing import APIRoute
from starlette.convertors import CONVERTOR_TYPES

from transbordo.settings import Settings

PARAM = re.compile(r"\{\w+(?::(\w+))?\}")


def _segment_overlap(a: str, b: str) -> bool:
    """Whether some path segment fits both template segments."""
    a_param, b_param = PARAM.fullmatch(a), PARAM.fullmatch(b)
    if a_param and b_param:
        return True  # str, int, float and uuid share values ("1", say)
    if a_param or b_param:
        param, literal = (a_param, b) if a_param else (b_param, a)
        assert param is not None
        regex = CONVERTOR_TYPES[param.group(1) or "str"].regex
        return re.fullmatch(regex, literal) is not None
    return a == b


def overlap(a: str, b: str) -> bool:
    """Whether some request path matches both templates (no `:path` parameters here)."""
    a_parts, b_parts = a.strip("/").split("/"), b.strip("/").split("/")
    return len(a_parts) == len(b_parts) and all(map(_segment_overlap, a_parts, b_parts))


def test_the_overlap_check_finds_crossing_templates() -> None:
    assert overlap("/api/{a}/b", "/api/a/{b}")
    assert overlap("/api/agent/queue", "/api/agent/{x}")
    assert not overlap("/api/agent/queue", "/api/agent/{x:int}")
    assert not overlap("/api/agent/queue", "/api/agent/queue/{x}")


def test_no_two_routes_answer_the_same_request(tmp_path: Path) -> None:
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path, admin_token="admin-token-0123456789abcdefghij"))
    routes = [
        (method, context.path)
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.original_route.methods
    ]
    assert len(routes) > 100
    assert not any(":path}" in path for _, path in routes)
    overlaps = [
        (method, path, other)
        for i, (method, path) in enumerate(routes)
        for other_method, other in routes[i + 1 :]
        if other_method == method and overlap(path, other)
    ]
    assert overlaps == []
