"""YAML with positions: a YAML 1.2 core-schema reader, node → data, and nodes found by path.

PyYAML speaks YAML 1.1, where ``18:00`` is the number 1080, ``no``/``on`` are booleans and
``2026-12-25`` is a date. Bot files are written by people who mean text there, so
:class:`Yaml12Loader` resolves plain scalars by the YAML 1.2 core schema instead. Data is built
from the node tree by hand so that duplicate keys are reported (PyYAML keeps the last silently)
and every value can be traced back to its line and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.tokens import ScalarToken

from bots.errors import FlowIssue, ctx_pairs

MAX_NODES = 200_000
"""Upper bound on values built from one file (aliases can multiply a small file's size)."""

_TAG = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR = (f"{_TAG}{t}" for t in ("null", "bool", "int", "float", "str"))
MAP, SEQ = f"{_TAG}map", f"{_TAG}seq"

SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate: YAML's escapes (`"\\ud800"`, `"\\U0000D800"`) can spell one, and
no text holding one can be written as UTF-8 (not in an answer, a log, SQL or a workflow)."""

PathItem = str | int
Path = Sequence[PathItem]


_BREAKS = "\0 \t\r\n\x85\u2028\u2029"


class Yaml12Loader(yaml.SafeLoader):
    """A SafeLoader whose plain scalars follow YAML 1.2 (core schema; used to compose only)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def scan_plain(self) -> ScalarToken:
        """PyYAML's plain scalar scanner, but a ``?`` may end a text inside ``{}``/``[]``.

        YAML 1.1 ends a plain scalar at ``?`` in flow context, so ``{text: Ainda está aí?}``
        was a syntax error; YAML 1.2 stops only at ``, [ ] { }`` and at ``: `` there.
        """
        chunks: list[str] = []
        start_mark = end_mark = self.get_mark()
        indent = self.indent + 1
        spaces: list[str] = []
        while True:
            length = 0
            if self.peek() == "#":
                break
            while True:
                ch = self.peek(length)
                if (
                    ch in _BREAKS
                    or (
                        ch == ":"
                        and self.peek(length + 1) in _BREAKS + (",[]{}" if self.flow_level else "")
                    )
                    or (self.flow_level and ch in ",[]{}")
                ):
                    break
                length += 1
            if length == 0:
                break
            self.allow_simple_key = False
            chunks.extend(spaces)
            chunks.append(self.prefix(length))
            self.forward(length)
            end_mark = self.get_mark()
            spaces = self.scan_plain_spaces(indent, start_mark) or []
            if not spaces or self.peek() == "#" or (not self.flow_level and self.column < indent):
                break
        return ScalarToken("".join(chunks), True, start_mark, end_mark)


for _tag, _pattern, _first in (
    (NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
):
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


class TooLarge(Exception):
    """The document expands to more than MAX_NODES values."""

    def __init__(self, node: Node) -> None:
        super().__init__("the document is too large (too many values or aliases)")
        self.node = node


if yaml.__with_libyaml__:

    class _CYaml12Loader(yaml.CSafeLoader):
        """libyaml's parser (about ten times faster) with the YAML 1.2 resolvers above."""

        yaml_implicit_resolvers = Yaml12Loader.yaml_implicit_resolvers


def compose(source: str) -> Node | None:
    """The node tree of a single-document YAML text (None when it is empty).

    libyaml composes when it is installed; a text it refuses is composed again by the pure
    Python loader, whose errors (tabs, a second document, ...) are the ones we explain.
    """
    if yaml.__with_libyaml__:
        fast = _CYaml12Loader(source)
        try:
            return fast.get_single_node()
        except yaml.YAMLError:
            pass
        finally:
            fast.dispose()
    loader = Yaml12Loader(source)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def position(node: Node) -> tuple[int, int]:
    """The 1-based line and column where ``node`` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def scalar_value(node: ScalarNode) -> Any:
    """The Python value of a scalar by its (resolved) tag; raises ValueError for a bad one."""
    text = node.value
    if node.tag == NULL:
        return None
    if node.tag == BOOL:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() == "true"
    if node.tag == INT:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    if node.tag == FLOAT:
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(text)
    return text


class Builder:
    """Builds plain data (dict, list, str, int, float, bool, None) from a node tree.

    Problems (duplicate keys, non-text keys, unsupported tags) become issues; building goes on
    so that every problem of the file is reported at once.
    """

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.issues: list[FlowIssue] = []
        self._count = 0
        self._active: set[int] = set()

    def issue(self, node: Node, message: str, code: str, **ctx: object) -> None:
        line, column = position(node)
        self.issues.append(
            FlowIssue(
                file=self.filename,
                line=line,
                column=column,
                message=message,
                code=code,
                ctx=ctx_pairs(ctx),
            )
        )

    def build(self, node: Node) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise TooLarge(node)
        if isinstance(node, ScalarNode):
            self._writable(node)
            return self._scalar(node)
        if id(node) in self._active:
            self.issue(
                node, "an alias refers to itself (recursive data is not allowed)", "recursive_alias"
            )
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node)
            if isinstance(node, SequenceNode):
                if node.tag != SEQ:
                    self._bad_tag(node)
                return [self.build(item) for item in node.value]
        finally:
            self._active.discard(id(node))
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag not in (NULL, BOOL, INT, FLOAT, STR):
            self._bad_tag(node)
            return node.value
        try:
            return scalar_value(node)
        except ValueError:
            kind = node.tag.removeprefix(_TAG)
            message = f"{node.value!r} is not a valid {kind}"
            self.issue(node, message, "invalid_scalar", value=node.value, kind=kind)
            return node.value

    def _writable(self, node: ScalarNode) -> None:
        """A lone surrogate is an issue at the scalar; it is replaced by U+FFFD in the node, so
        building (and every later issue, quoting it) goes on with text that can be written."""
        found = SURROGATE.search(node.value)
        if found is not None:
            message = "text with a lone UTF-16 surrogate (U+D800 to U+DFFF) is not valid Unicode"
            self.issue(node, message, "invalid_text", codepoint=f"U+{ord(found.group()):04X}")
            node.value = SURROGATE.sub("\ufffd", node.value)

    def _bad_tag(self, node: Node) -> None:
        self.issue(node, f"unsupported YAML tag {node.tag!r}", "unsupported_tag", tag=node.tag)

    def _mapping(self, node: MappingNode) -> dict[str, Any]:
        if node.tag != MAP:
            self._bad_tag(node)
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                message = "a key must be plain text, not a list or a mapping"
                self.issue(key_node, message, "complex_key")
                continue
            self._writable(key_node)
            key = key_node.value
            if key in first_seen:
                line, _ = position(first_seen[key])
                message = f"duplicate key {key!r} (first defined on line {line})"
                self.issue(key_node, message, "duplicate_key", key=key, first_line=line)
            else:
                first_seen[key] = key_node
            result[key] = self.build(value_node)
        return result


def child(node: Node, item: PathItem) -> tuple[Node | None, Node] | None:
    """The (key node, value node) of ``item`` in a mapping or a sequence, or None."""
    if isinstance(node, MappingNode):
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(item):
                found = (key_node, value_node)  # the last one wins, as in the built data
        return found
    if isinstance(node, SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
        return None, node.value[item]
    return None


class Locator:
    """Finds where a path (``("blocks", "menu", "options", 0, "next")``) is written."""

    def __init__(self, root: Node, filename: str) -> None:
        self.root = root
        self.filename = filename

    def find(self, path: Path) -> tuple[Node | None, Node, bool]:
        """The key node and value node of the deepest part of ``path`` found; True if all."""
        key_node: Node | None = None
        node = self.root
        for item in path:
            found = child(node, item)
            if found is None:
                return key_node, node, False
            key_node, node = found
        return key_node, node, True

    def at_node(
        self,
        node: Node,
        message: str,
        code: str,
        ctx: Mapping[str, object] | None = None,
    ) -> FlowIssue:
        """An issue at ``node``, with its stable ``code`` and the values it is about."""
        line, column = position(node)
        return FlowIssue(
            file=self.filename,
            line=line,
            column=column,
            message=message,
            code=code,
            ctx=ctx_pairs(ctx or {}),
        )

    def at(
        self,
        path: Path,
        message: str,
        code: str,
        ctx: Mapping[str, object] | None = None,
        *,
        key: bool = False,
    ) -> FlowIssue:
        """An issue at the value of ``path`` (or at its key with ``key=True``)."""
        key_node, node, _ = self.find(path)
        return self.at_node(key_node if key and key_node is not None else node, message, code, ctx)
