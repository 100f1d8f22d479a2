"""Sandboxed templates for flow texts (`{{ cpf }}`) and conditions (`cpf | length == 11`).

Jinja2's sandbox keeps a bot designer's template from reaching Python internals; undefined
names render as empty text so a missing variable never crashes a customer's conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_env = ImmutableSandboxedEnvironment(
    autoescape=False, keep_trailing_newline=False, undefined=ChainableUndefined
)


@lru_cache(maxsize=2048)
def _template(source: str):  # type: ignore[no-untyped-def]
    return _env.from_string(source)


@lru_cache(maxsize=2048)
def _expression(source: str):  # type: ignore[no-untyped-def]
    return _env.compile_expression(source, undefined_to_none=True)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a text; plain texts (no `{{`/`{%`) are returned as they are."""
    if "{" not in source:
        return source
    try:
        return _template(source).render(**context)
    except Exception:  # noqa: BLE001 - a bad runtime value must not break the conversation
        return ""


def evaluate(expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a condition; an error in it counts as false (and is the loader's job to prevent)."""
    try:
        return bool(_expression(expression)(**context))
    except Exception:  # noqa: BLE001 - a bad runtime value must not break the conversation
        return False


def template_error(source: str) -> str | None:
    """The syntax error of a text template, or None when it compiles."""
    try:
        _template(source)
    except TemplateSyntaxError as exc:
        return f"template error: {exc.message}"
    return None


def expression_error(source: str) -> str | None:
    """The syntax error of a condition expression, or None when it compiles."""
    try:
        _expression(source)
    except TemplateSyntaxError as exc:
        return f"expression error: {exc.message}"
    return None
