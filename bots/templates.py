"""Sandboxed templates for flow texts (`{{ cpf }}`) and conditions (`cpf | length == 11`).

Jinja2's sandbox keeps a bot designer's template from reaching Python internals; undefined
names render as empty text so a missing variable never crashes a customer's conversation.

Templates run inside workflow code, so they are also *bounded* (a template error renders as
nothing, and is a flow error at publish when it can be seen there):

- numbers: a result of ``*`` or ``**`` on whole numbers has at most MAX_INT_BITS bits
  (``9 ** (9 ** 6)`` is refused instead of folded for minutes at compile time);
- texts and lists: ``*``, ``+``, ``~``, ``%``/``format`` widths and the padding filters and
  methods never build more than MAX_OUTPUT characters (or MAX_ITEMS items);
- work: loops, calls and concatenations of one rendering share a budget of MAX_STEPS, and
  ``range`` holds at most MAX_ITEMS numbers;
- size: a template's source has at most MAX_SOURCE characters, its output MAX_OUTPUT.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_SOURCE = 16 * 1024
MAX_OUTPUT = 64 * 1024
MAX_ITEMS = 10_000
MAX_INT_BITS = 4_096
MAX_STEPS = 20_000
MAX_WIDTH = 1_000
_PERCENT = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACES = re.compile(r"\{[^{}]*:([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


class TemplateBound(SecurityError):
    """A template tried to build or do more than the bounds allow."""


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_STEPS

    def charge(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TemplateBound(f"the template does more than {MAX_STEPS} steps")


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _charge() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.charge()


def _size(value: Any) -> int | None:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value)
    return None


def _check_size(size: int, value: Any) -> None:
    limit = MAX_OUTPUT if isinstance(value, str) else MAX_ITEMS
    if size > limit:
        raise TemplateBound(f"the result would be longer than {limit:,}")


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateBound(f"the number would be larger than {MAX_INT_BITS} bits")


def _check_format(text: Any) -> None:
    """Widths and precisions of ``%`` and ``str.format`` specs: at most MAX_WIDTH, no ``*``."""
    if not isinstance(text, str):
        return
    numbers = [n for m in _PERCENT.finditer(text) for n in m.groups() if n]
    for match in _BRACES.finditer(text):
        spec = match.group(1)
        numbers += ["*"] if "{" in spec else re.findall(r"\d+", spec)
    if any(n == "*" or int(n) > MAX_WIDTH for n in numbers):
        raise TemplateBound(
            f"a format width or precision above {MAX_WIDTH} (or given by an argument)"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _guard_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _check_bits(left.bit_length() * right)
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            _check_bits(left.bit_length() + right.bit_length())
        for seq, times in ((left, right), (right, left)):
            size = _size(seq)
            if size is not None and _is_int(times):
                _check_size(size * times, seq)
    elif operator == "+":
        left_size, right_size = _size(left), _size(right)
        if left_size is not None and right_size is not None:
            _check_size(left_size + right_size, left)
    elif operator == "%" and isinstance(left, str):
        _check_format(left)


def _guard_call(obj: Any, args: tuple[Any, ...]) -> None:
    """Calls that build big texts: padding methods, replace, join, str.format."""
    target = getattr(obj, "__wrapped__", obj)
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in ("format", "format_map"):
        _check_format(owner)
    elif name in ("ljust", "rjust", "center", "zfill", "expandtabs") and args:
        width = args[0] if name != "expandtabs" else args[0] * max(1, owner.count("\t"))
        if _is_int(width):
            _check_size(width + len(owner), owner)
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        count = owner.count(args[0]) if args[0] else len(owner) + 1
        _check_size(len(owner) + count * len(args[1]), owner)
    elif name == "join" and isinstance(args[0] if args else None, list | tuple):
        items = args[0]
        _check_size(len(owner) * len(items) + sum(len(str(i)) for i in items), owner)


class _Bounded(NodeTransformer):
    """Route every loop's items and every ``~`` through the environment's bounded helpers."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 - Jinja's visitor names
        self.generic_visit(node)
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("bounded_iter"), [node.iter], [], None, None
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        items = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return nodes.Call(
            nodes.EnvironmentAttribute("bounded_concat"),
            [items],
            [],
            None,
            None,
            lineno=node.lineno,
        )


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds of the module docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.filters.update(_BOUNDED_FILTERS)
        # Jinja's `random` filter and `lipsum` draw from Python's `random`: a workflow that
        # rendered one would take another branch, or say another text, on replay.
        del self.filters["random"], self.globals["lipsum"]

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        return super()._generate(_Bounded().visit(source), name, filename, defer_init)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _guard_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _charge()
        _guard_call(__obj, args)
        return super().call(__context, __obj, *args, **kwargs)

    def bounded_iter(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            _charge()
            yield item

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        _charge()
        texts = [str(part) for part in parts]
        _check_size(sum(len(text) for text in texts), "")
        return "".join(texts)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        raise TemplateBound(f"range holds at most {MAX_ITEMS:,} numbers")
    return numbers


def _bounded_filter(name: str, check: Any) -> Any:
    original = FILTERS[name]

    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        return original(*args, **kwargs)

    for attribute in ("jinja_pass_arg",):
        if hasattr(original, attribute):
            setattr(bounded, attribute, getattr(original, attribute))
    return bounded


def _center(value: Any, width: Any = 80) -> None:
    if _is_int(width):
        _check_size(width + len(str(value)), "")


def _indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
    pad = width if _is_int(width) else len(str(width))
    _check_size(len(str(value)) + pad * (str(value).count("\n") + 1), "")


def _replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> None:
    text, old, new = str(value), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    _check_size(len(text) + times * len(new), "")


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_format(value)


_BOUNDED_FILTERS = {
    "center": _bounded_filter("center", _center),
    "indent": _bounded_filter("indent", _indent),
    "replace": _bounded_filter("replace", _replace),
    "format": _bounded_filter("format", _format),
}

_env = BoundedEnvironment(
    autoescape=False, keep_trailing_newline=False, undefined=ChainableUndefined
)


@lru_cache(maxsize=2048)
def _template(source: str) -> Template:
    check_source(source)
    return _env.from_string(source)


@lru_cache(maxsize=2048)
def _expression(source: str) -> TemplateExpression:
    check_source(source)
    return _env.compile_expression(source, undefined_to_none=True)


def check_source(source: str) -> None:
    if len(source) > MAX_SOURCE:
        raise TemplateBound(f"the template has more than {MAX_SOURCE:,} characters")


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a text; plain texts (no `{{`/`{%`) are returned as they are."""
    rendered = bounded_render(_template, source, context)
    return "" if rendered is None else rendered


def render_or_none(source: str, context: Mapping[str, Any]) -> str | None:
    """`render`, but None where it would give "" for a failure: for a caller who can say so."""
    return bounded_render(_template, source, context)


def bounded_render(
    compiled: Callable[[str], Template], source: str, context: Mapping[str, Any]
) -> str | None:
    """`source` (compiled by `compiled`) rendered within the bounds, or None when it fails to
    compile or render, or writes too much; plain texts (no `{`) as they are."""
    if "{" not in source:
        return source
    token = _budget.set(_Budget())
    try:
        out: list[str] = []
        size = 0
        for chunk in compiled(source).generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                return None
            out.append(chunk)
        return "".join(out)
    except Exception:  # noqa: BLE001 - a bad runtime value must not break the conversation
        return None
    finally:
        _budget.reset(token)


def evaluate(expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a condition; an error in it counts as false (and is the loader's job to prevent)."""
    token = _budget.set(_Budget())
    try:
        return bool(_expression(expression)(**context))
    except Exception:  # noqa: BLE001 - a bad runtime value must not break the conversation
        return False
    finally:
        _budget.reset(token)


def template_error(source: str) -> str | None:
    """Why a text template cannot be used, or None when it compiles within the bounds."""
    problem = compile_problem(source)
    return f"template error: {problem}" if problem else None


def expression_error(source: str) -> str | None:
    """Why a condition expression cannot be used, or None when it compiles within the bounds."""
    problem = compile_problem(source, expression=True)
    return f"expression error: {problem}" if problem else None


def compile_problem(source: str, *, expression: bool = False) -> str | None:
    """Jinja's own words for why ``source`` does not compile within the bounds, or None (a flow
    issue keeps them apart from its code, for a screen to put them after its own sentence)."""
    try:
        if expression:
            _expression(source)
            _constant_bounds(f"{{{{ {source} }}}}")
        else:
            _template(source)
            _constant_bounds(source)
        _no_internal_names(f"{{{{ {source} }}}}" if expression else source)
    except TemplateSyntaxError as exc:
        return str(exc.message or type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - any failure to compile is the designer's to fix
        return str(exc) or type(exc).__name__  # never empty: empty would read as valid
    return None


def _no_internal_names(source: str) -> None:
    """Raise SecurityError for a Python internal name (``__class__``, ``x['__globals__']``):
    the sandbox never lets a template read one, so at run time it renders as nothing and a
    customer would get an empty text; at publish it is an error. Other ``_`` names stay: an
    HTTP block's JSON keys (``resposta._id``, ``__v``) are read as items."""
    tree = _env.parse(source)
    looked_up = [node.attr for node in tree.find_all(nodes.Getattr)] + [
        node.arg.value
        for node in tree.find_all(nodes.Getitem)
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)
    ]
    for name in looked_up:
        if len(name) > 4 and name.startswith("__") and name.endswith("__"):
            raise SecurityError(f"'{name}' cannot be read in a template (a Python internal)")


def _constant_bounds(source: str) -> None:
    """Raise TemplateBound for an operation on constants that would break a bound at run time
    (``{{ 9 ** (9 ** 6) }}``, ``{{ 'a' * 10 ** 9 }}``): folded here with the guards on."""
    context = nodes.EvalContext(_env)
    tree = _env.parse(source)
    for node in tree.find_all(nodes.BinExpr):
        with suppress(nodes.Impossible):
            _folded(node, context)
    for call in tree.find_all(nodes.Call):
        with suppress(nodes.Impossible):
            args = tuple(_folded(arg, context) for arg in call.args)
            if isinstance(call.node, nodes.Name) and call.node.name == "range":
                _bounded_range(*args)
            elif isinstance(call.node, nodes.Getattr):
                owner = _folded(call.node.node, context)
                if isinstance(owner, str) and hasattr(owner, call.node.attr):
                    _guard_call(getattr(owner, call.node.attr), args)


def _folded(node: Any, context: nodes.EvalContext) -> Any:
    """The constant value of ``node``, guarding each intercepted operation on the way."""
    if isinstance(node, nodes.BinExpr) and node.operator in _env.intercepted_binops:
        left, right = _folded(node.left, context), _folded(node.right, context)
        _guard_binop(node.operator, left, right)
        try:
            return _env.binop_table[node.operator](left, right)
        except Exception as exc:  # noqa: BLE001 - e.g. 'a' * 'b': not constant after all
            raise nodes.Impossible() from exc
    return node.as_const(context)
