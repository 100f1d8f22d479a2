"""Values in a flow's URL: each one is encoded as a single component, never URL syntax.

An ``http`` block's ``url`` is a template (:func:`render_url`, bounded as bots/templates.py's
texts are); what a value puts there (a customer's answer, an HTTP result) goes through
:func:`component` as Jinja's ``finalize``, so ``123/../../admin?x=1#`` becomes
``123%2F..%2F..%2Fadmin%3Fx%3D1%23``: a path segment's or a query value's text, never another
path, query or fragment. The template's own text (scheme, host, ``/pedidos/``, ``?cpf=``) is not
a value and stays as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jinja2 import ChainableUndefined
from jinja2.environment import Template
from jinja2.filters import FILTERS

from bots.templates import BoundedEnvironment, bounded_render, check_source


class Encoded(str):
    """Text already encoded for a URL (by :func:`urlencode`): ``finalize`` leaves it alone."""


class DotSegment(ValueError):
    """A value of dots only: ``.`` and ``..`` are path steps however encoded (RFC 3986 and the
    WHATWG URL parser read ``%2E%2E`` as ``..``), so no URL is made of it."""


def component(value: Any) -> str:
    """``value`` as one URL component: ``/ ? # & = %``, spaces and non-ASCII encoded. A value
    of dots only (``.``, ``..``) raises :class:`DotSegment`: the URL is then not rendered."""
    if isinstance(value, Encoded):
        return value
    text = quote(str(value), safe="", errors="replace")
    if text in (".", ".."):
        raise DotSegment(text)
    return text


def urlencode(value: Any) -> Encoded:
    """The URL templates' ``urlencode``: Jinja's keeps ``/`` in a text, this one encodes it (a
    text is one component); pairs (``{'q': x}|urlencode``) are Jinja's query string, whose
    keys and values Jinja already encodes whole."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        return Encoded(component(value))
    return Encoded(FILTERS["urlencode"](value))


class UnrenderableUrl(Exception):
    """A URL's template failed or overflowed, or a value was only dots: no URL, not a part."""


_env = BoundedEnvironment(autoescape=False, undefined=ChainableUndefined, finalize=component)
_env.filters["urlencode"] = urlencode  # a text is one component: `/` encoded


@lru_cache(maxsize=2048)
def _template(source: str) -> Template:
    check_source(source)
    return _env.from_string(source)


def render_url(source: str, context: Mapping[str, Any]) -> str:
    """Render (part of) a URL: like bots.templates' `render`, but each value the template puts
    in is one encoded component (:func:`component`): a customer's ``1/../admin?x#`` is a
    segment's or a query value's text. The template's own text is kept as written. Where
    `render` gives "" (an error, the output bound: percent-encoding makes a value up to 12
    times longer), this raises: a URL cut to its first part would call another address."""
    rendered = bounded_render(_template, source, context)
    if rendered is None:
        raise UnrenderableUrl(source)
    return rendered
