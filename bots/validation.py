"""Flow rules the models cannot see: references, reachability, loops, templates, names.

The rules run on the parts of a file that are valid on their own, so a broken block does not
hide the problems of the others. Rules that need the whole graph (reachability) run only when
every block is valid. What a valid flow may do unnoticed is in bots/warnings.py (publishing
returns it as warnings).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import product
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from bots.errors import FlowIssue
from bots.graph import shortest_cycle, strongly_connected
from bots.models import (
    RESERVED_VARIABLES,
    Block,
    ConditionBlock,
    EndBlock,
    EscapeRoute,
    HttpBlock,
    HumanBlock,
    MenuBlock,
    MessageBlock,
    QuestionBlock,
    SetBlock,
)
from bots.patterns import pattern_message, pattern_problem
from bots.places import located, place
from bots.schedule import DAYS, Schedule, _parse_day_key, _parse_window
from bots.templates import compile_problem
from bots.yaml_nodes import Locator, PathItem

BLOCK_MODELS: tuple[type[Any], ...] = get_args(get_args(Block)[0])
BLOCK_TYPES: tuple[str, ...] = tuple(
    get_args(model.model_fields["type"].annotation)[0] for model in BLOCK_MODELS
)
WAITLESS_TYPES = (MessageBlock, ConditionBlock, SetBlock, HttpBlock)
"""Blocks that run and go on without waiting for the customer."""

BLOCK_ADAPTER: TypeAdapter[Any] = TypeAdapter(Block)

Path = tuple[PathItem, ...]


@dataclass
class FlowParts:
    """The valid parts of a (possibly invalid) bot file."""

    start: str | None
    names: list[str]
    blocks: dict[str, Any]
    escape_routes: dict[int, EscapeRoute]
    has_human_service: bool
    complete: bool
    hours: dict[str, list[str]] | None = None
    """The schedule's hours when the whole schedule is valid."""


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def flow_parts(data: dict[str, Any]) -> FlowParts:
    """Validate each block and escape route on its own; keep those that are valid."""
    raw_blocks = data.get("blocks")
    raw_blocks = raw_blocks if isinstance(raw_blocks, dict) else {}
    blocks: dict[str, Any] = {}
    for name, raw in raw_blocks.items():
        with suppress(ValidationError):
            blocks[name] = BLOCK_ADAPTER.validate_python(raw)
    raw_routes = data.get("escape_routes")
    raw_routes = raw_routes if isinstance(raw_routes, list) else []
    routes: dict[int, EscapeRoute] = {}
    for index, raw in enumerate(raw_routes):
        with suppress(ValidationError):
            routes[index] = EscapeRoute.model_validate(raw)
    start = _as_text(data.get("start"))
    schedule = None
    with suppress(ValidationError):
        schedule = Schedule.model_validate(data.get("schedule"))
    return FlowParts(
        start=start,
        names=list(raw_blocks),
        blocks=blocks,
        escape_routes=routes,
        has_human_service=data.get("human_service") is not None,
        complete=start is not None
        and len(blocks) == len(raw_blocks)
        and len(routes) == len(raw_routes),
        hours=schedule.hours if schedule is not None else None,
    )


def block_targets(block: Any) -> list[tuple[Path, str]]:
    """Every block name a block may go to, with its path inside the block (YAML names)."""
    targets: list[tuple[Path, str | None]] = []
    match block:
        case MessageBlock() | SetBlock():
            targets = [(("next",), block.next)]
        case QuestionBlock():
            targets = [
                (("on_invalid",), block.on_invalid),
                (("on_timeout",), block.on_timeout),
                (("next",), block.next),
            ]
        case MenuBlock():
            targets = [(("options", i, "next"), o.next) for i, o in enumerate(block.options)]
            targets += [(("on_invalid",), block.on_invalid), (("on_timeout",), block.on_timeout)]
        case ConditionBlock():
            targets = [(("branches", i, "next"), b.next) for i, b in enumerate(block.branches)]
            targets.append((("else",), block.otherwise))
        case HttpBlock():
            targets = [(("next",), block.next), (("on_error",), block.on_error)]
        case HumanBlock():
            targets = [(("on", outcome), name) for outcome, name in block.on.items()]
            targets.append((("next",), block.next))
        case EndBlock():
            targets = []
    return [(path, name) for path, name in targets if name is not None]


def block_texts(block: Any) -> Iterator[tuple[Path, str, bool]]:
    """(path, source, is_expression) of every template and condition in a block."""
    match block:
        case MessageBlock() | EndBlock() | HumanBlock():
            if block.text is not None:
                yield ("text",), block.text, False
        case QuestionBlock():
            yield ("text",), block.text, False
            yield ("retry_text",), block.retry_text, False
        case MenuBlock():
            yield ("text",), block.text, False
            yield ("invalid_text",), block.invalid_text, False
            for i, option in enumerate(block.options):
                yield ("options", i, "label"), option.label, False
        case ConditionBlock():
            for i, branch in enumerate(block.branches):
                yield ("branches", i, "if"), branch.when, True
        case SetBlock():
            for name, value in block.values.items():
                yield ("values", name), value, False
        case HttpBlock():
            yield ("url",), block.url, False
            for name, value in block.headers.items():
                yield ("headers", name), value, False
            yield from ((path, text, False) for path, text in _strings(block.body, ("body",)))


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: how the runtime compares keywords."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


class _Rules:
    def __init__(self, parts: FlowParts, locator: Locator) -> None:
        self.parts = parts
        self.locator = locator
        self.known = set(parts.names)
        self.issues: list[FlowIssue] = []

    def report(
        self, path: Sequence[PathItem], message: str, code: str, *, key: bool = False, **ctx: object
    ) -> None:
        where = {**place(path), **ctx}
        self.issues.append(self.locator.at(path, located(path, message), code, where, key=key))

    def run(self) -> list[FlowIssue]:
        self.references()
        self.reachability()
        self.waitless_loops()
        for name, block in self.parts.blocks.items():
            self.block_rules(name, block)
        self.escape_routes()
        self.schedule_windows()
        return self.issues

    def _check_target(self, path: Path, target: str) -> None:
        if target in self.known:
            return
        close = difflib.get_close_matches(target, self.parts.names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        suggestion = close[0] if close else None
        message = f"unknown block {target!r}{hint}"
        self.report(path, message, "unknown_block", target=target, suggestion=suggestion)

    def references(self) -> None:
        if self.parts.start is not None:
            self._check_target(("start",), self.parts.start)
        for name, block in self.parts.blocks.items():
            for path, target in block_targets(block):
                self._check_target(("blocks", name, *path), target)
        for index, route in self.parts.escape_routes.items():
            if route.goto is not None:
                self._check_target(("escape_routes", index, "goto"), route.goto)

    def reachability(self) -> None:
        if not self.parts.complete or self.parts.start not in self.parts.blocks:
            return  # an unknown start is reported already; every block would be unreachable
        roots = [self.parts.start] + [
            r.goto for r in self.parts.escape_routes.values() if r.goto is not None
        ]
        seen: set[str] = set()
        queue = deque(roots)
        while queue:
            name = queue.popleft()
            if name in seen or name not in self.parts.blocks:
                continue
            seen.add(name)
            queue.extend(target for _, target in block_targets(self.parts.blocks[name]))
        for name in self.parts.names:
            if name not in seen:
                self.report(
                    ("blocks", name),
                    f"never reached from start {self.parts.start!r} (no block leads here)",
                    "unreachable_block",
                    key=True,
                    start=self.parts.start,
                )

    def _waitless_edges(self) -> dict[str, list[str]]:
        nodes = {n for n, b in self.parts.blocks.items() if isinstance(b, WAITLESS_TYPES)}
        return {
            name: [t for _, t in block_targets(self.parts.blocks[name]) if t in nodes]
            for name in self.parts.names
            if name in nodes
        }

    def waitless_loops(self) -> None:
        """Each loop of blocks that never wait, reported once at its first block in the file.

        The loops are the strongly connected components of the wait-less graph: linear time,
        where a reachability set per block was quadratic.
        """
        edges = self._waitless_edges()
        for component in strongly_connected(edges):
            first = component[0]
            if len(component) == 1 and first not in edges[first]:
                continue  # a single block that does not go to itself is no loop
            cycle = " → ".join(shortest_cycle(edges, first, set(component)))
            self.report(
                ("blocks", first),
                f"the loop {cycle} never waits for the customer "
                "(add a question, menu or human block to it, or an end)",
                "waitless_loop",
                key=True,
                cycle=cycle,
            )

    def block_rules(self, name: str, block: Any) -> None:
        base: Path = ("blocks", name)
        save_as = getattr(block, "save_as", None)
        if save_as in RESERVED_VARIABLES:
            message = _reserved(save_as)
            self.report(
                (*base, "save_as"), message, "reserved_variable", name=save_as, reserved=_RESERVED
            )
        if isinstance(block, SetBlock):
            for variable in block.values:
                if variable in RESERVED_VARIABLES:
                    path = (*base, "values", variable)
                    message, code = _reserved(variable), "reserved_variable"
                    self.report(path, message, code, key=True, name=variable, reserved=_RESERVED)
        for path, source, is_expression in block_texts(block):
            kind = "expression" if is_expression else "template"
            detail = compile_problem(source, expression=is_expression)
            if detail:
                message = f"{kind} error: {detail}"
                self.report((*base, *path), message, f"{kind}_error", error=detail)
        if isinstance(block, QuestionBlock) and block.pattern is not None:
            problem = pattern_problem(block.pattern)
            if problem:
                reason, lacks = problem
                message = pattern_message(reason, lacks)
                self.report((*base, "pattern"), message, "bad_pattern", error=reason, lacks=lacks)
        if isinstance(block, MenuBlock):
            self.menu_labels(base, block)
        if isinstance(block, HumanBlock) and not self.parts.has_human_service:
            self.report(
                base,
                "the bot has no human_service (Atendimento Humano) settings "
                "(add human_service with platform and omni_key)",
                "no_human_service",
                key=True,
            )

    def menu_labels(self, base: Path, block: MenuBlock) -> None:
        """Two options of one menu must not read the same once normalized."""
        labels: dict[str, int] = {}
        for index, option in enumerate(block.options):
            label = normalize(option.label)
            if label in labels:
                self.report(
                    (*base, "options", index, "label"),
                    f"the same label as options[{labels[label]}]",
                    "duplicate_label",
                    same_as=labels[label],
                )
            labels.setdefault(label, index)

    def escape_routes(self) -> None:
        routes = self.parts.escape_routes
        keywords: dict[str, int] = {}
        seen: dict[str, int] = {}
        for index, route in routes.items():
            same = seen.setdefault(route.model_dump_json(), index)
            if same != index:
                message = f"the same route as escape_routes[{same}]"
                self.report(("escape_routes", index), message, "duplicate_route", same_as=same)
                continue
            for k, keyword in enumerate(route.keywords):
                path = ("escape_routes", index, "keywords", k)
                word = normalize(keyword)
                if not word:
                    self.report(path, EMPTY_KEYWORD, "empty_keyword")
                elif word in keywords:
                    used = f"escape_routes[{keywords[word]}]"
                    message = f"keyword {keyword!r} is already used by {used}"
                    self.report(
                        path, message, "duplicate_keyword", keyword=keyword, same_as=keywords[word]
                    )
                else:
                    keywords[word] = index

    def schedule_windows(self) -> None:
        """Windows the schedule model still reads (versions published before, and their
        conversations' histories, load as they did) but a new version may not have: one that
        ends where it starts, and one past midnight that runs into a window of the next day
        (sun → mon too), said at the later one (docs/schedule.md, "Windows")."""
        week: list[list[tuple[int, int, Path, str]]] = [[] for _ in DAYS]
        for key, windows in (self.parts.hours or {}).items():
            for index, text in enumerate(windows):
                path: Path = ("schedule", "hours", key, index)
                if text[:5] == text[6:]:
                    self.report(path, _SAME_ENDS.format(text), "bad_time_window", window=text)
                    continue
                for day in _parse_day_key(key):
                    week[day].append((*_parse_window(text), path, text))
        said: set[tuple[Path, Path]] = set()
        for day, spans in enumerate(week):
            after = (day + 1) % len(DAYS)
            for (_, spill, path, first), (opens, _, later, then) in product(spans, week[after]):
                if opens < spill - 24 * 60 and (path, later) not in said:
                    said.add((path, later))
                    message = _PAST_MIDNIGHT.format(DAYS[day], first, DAYS[after], then)
                    ctx: dict[str, Any] = {"first_day": DAYS[day], "second_day": DAYS[after]}
                    ctx |= {"first": first, "second": then}
                    self.report(later, message, "overlapping_windows", **ctx)


_SAME_ENDS = (
    "the window {0!r} ends where it starts (it would run 24 hours, into the next day);"
    " a whole day is '00:00-24:00'"
)
_PAST_MIDNIGHT = "overlapping windows '{0} {1}' and '{2} {3}' (the first runs past midnight)"
EMPTY_KEYWORD = (
    "a keyword needs a letter or a digit: spaces, punctuation, symbols and emoji are ignored"
    " when a message is matched, so this one would never match"
)
_RESERVED = ", ".join(sorted(RESERVED_VARIABLES))


def _reserved(name: str) -> str:
    return f"{name!r} is a name the runtime provides and cannot be saved to (reserved: {_RESERVED})"


def check_rules(data: dict[str, Any], locator: Locator) -> list[FlowIssue]:
    """Every semantic problem of a flow's valid parts."""
    return _Rules(flow_parts(data), locator).run()
