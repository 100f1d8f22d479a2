"""Load bot files: YAML → :class:`BotFlow`, every problem reported as file:line:column.

Steps: compose the YAML 1.2 node tree, build plain data (duplicate keys reported), substitute
``${VAR}`` where secrets belong, validate with the models (errors mapped back to nodes), then
check the rules the models cannot see (:mod:`bots.validation`). All issues of a file are
collected before :class:`FlowError` is raised. Pure: no network, nothing logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode

from bots import env_refs
from bots.errors import FlowError, FlowIssue, ctx_pairs
from bots.limits import FlowLimits
from bots.model_errors import model_issue
from bots.models import BotFlow
from bots.places import located, place
from bots.schema import flow_json_schema
from bots.validation import check_rules
from bots.yaml_nodes import MAX_NODES, Builder, Locator, PathItem, TooLarge, compose, position

__all__ = [
    "FlowError",
    "FlowIssue",
    "flow_json_schema",
    "FlowLimits",
    "flow_issues",
    "load_flow",
    "load_flow_file",
    "validate_path",
]

FLOW_SUFFIXES = (".yaml", ".yml")


@dataclass
class _Loaded:
    flow: BotFlow | None
    issues: list[FlowIssue]
    locator: Locator | None


def load_flow(
    source: str,
    filename: str = "<flow>",
    env: Mapping[str, str] | None = None,
    limits: FlowLimits | None = None,
) -> BotFlow:
    """Parse and validate a bot file's text; raises FlowError listing every problem.

    ``limits`` default to the built-in ones (callers pass the operator's); ``env`` to the
    process environment.
    """
    loaded = _load(source, filename, env, limits)
    if loaded.issues or loaded.flow is None:
        raise FlowError(loaded.issues)
    return loaded.flow


def load_flow_file(
    path: Path, env: Mapping[str, str] | None = None, limits: FlowLimits | None = None
) -> BotFlow:
    """Read and load one bot file."""
    source, issues = _read(path)
    if source is None:
        raise FlowError(issues)
    return load_flow(source, str(path), env, limits)


def flow_issues(
    source: str,
    filename: str = "<flow>",
    env: Mapping[str, str] | None = None,
    limits: FlowLimits | None = None,
) -> list[FlowIssue]:
    """Every problem of a bot file's text (empty when it is valid)."""
    return _load(source, filename, env, limits).issues


def validate_path(
    path: Path, env: Mapping[str, str] | None = None, limits: FlowLimits | None = None
) -> dict[Path, list[FlowIssue]]:
    """The issues of one bot file, or of every ``*.yaml``/``*.yml`` under a folder.

    A ``tests/`` subfolder and ``*.test.yaml`` files are skipped. Two files of the same ``bot``
    name are an error at the second one's ``bot:``.
    """
    files = [path] if path.is_file() else _flow_files(path)
    results: dict[Path, list[FlowIssue]] = {}
    bots: dict[str, Path] = {}
    for file in files:
        source, issues = _read(file)
        if source is not None:
            loaded = _load(source, str(file), env, limits)
            issues = loaded.issues
            if loaded.flow is not None and loaded.locator is not None:
                first = bots.setdefault(loaded.flow.bot, file)
                if first != file:
                    message = f"bot: {loaded.flow.bot!r} is already the bot of {first}"
                    where = {"bot": loaded.flow.bot, "file": first}
                    issues = [*issues, loaded.locator.at(("bot",), message, "duplicate_bot", where)]
        results[file] = issues
    return results


def _flow_files(folder: Path) -> list[Path]:
    found = []
    for file in sorted(folder.rglob("*")):
        inner = file.relative_to(folder).parts[:-1]
        if (
            file.suffix in FLOW_SUFFIXES
            and file.is_file()
            and not file.name.endswith((".test.yaml", ".test.yml"))
            and "tests" not in inner
            and not any(part.startswith(".") for part in file.relative_to(folder).parts)
        ):
            found.append(file)
    return found


def _read(path: Path) -> tuple[str | None, list[FlowIssue]]:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = "the file is not UTF-8 text (save it as UTF-8)"
        issue = FlowIssue(
            file=str(path), line=line, column=column, message=message, code="not_utf8"
        )
        return None, [issue]


def _load(
    source: str, filename: str, env: Mapping[str, str] | None, limits: FlowLimits | None
) -> _Loaded:
    limits = limits or FlowLimits()
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        message = (
            f"the file has {size:,} bytes; a bot file holds at most {limits.max_bytes:,}"
            " (TRANSBORDO_FLOW_MAX_BYTES)"
        )
        return _failed(filename, 1, 1, message, "file_too_large", size=size, max=limits.max_bytes)
    try:
        return _load_unguarded(source, filename, env, limits)
    except RecursionError:
        return _failed(filename, 1, 1, "the document is nested too deeply", "too_deep")


def _failed(
    filename: str, line: int, column: int, message: str, code: str, **ctx: object
) -> _Loaded:
    """A file that cannot be read any further: its one issue."""
    issue = FlowIssue(
        file=filename, line=line, column=column, message=message, code=code, ctx=ctx_pairs(ctx)
    )
    return _Loaded(None, [issue], None)


def _load_unguarded(
    source: str, filename: str, env: Mapping[str, str] | None, limits: FlowLimits
) -> _Loaded:
    try:
        root = compose(source)
    except yaml.MarkedYAMLError as exc:
        line, column, message, code, ctx = _syntax_error(exc)
        return _failed(filename, line, column, message, code, **ctx)
    except yaml.reader.ReaderError as exc:
        line = source.count("\n", 0, exc.position) + 1
        column = exc.position - (source.rfind("\n", 0, exc.position) + 1) + 1
        message = f"character {exc.character!r} is not allowed in YAML"
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        codepoint = f"U+{ord(char):04X}"
        return _failed(filename, line, column, message, "yaml_character", codepoint=codepoint)
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above carries a mark
        return _failed(filename, 1, 1, f"YAML error: {exc}", "yaml_syntax", problem=exc)
    if root is None:
        message = "the file is empty (a bot file starts with `bot: <name>`)"
        return _failed(filename, 1, 1, message, "empty_file")
    if not isinstance(root, MappingNode):
        line, column = position(root)
        message = "a bot file is a mapping (bot:, start:, blocks:, ...)"
        return _failed(filename, line, column, message, "not_a_mapping")
    builder = Builder(filename)
    try:
        data = builder.build(root)
    except TooLarge as exc:
        line, column = position(exc.node)
        return _failed(filename, line, column, str(exc), "too_many_values", max=MAX_NODES)
    locator = Locator(root, filename)
    blocks = data.get("blocks")
    if isinstance(blocks, dict) and len(blocks) > limits.max_blocks:
        message = (
            f"blocks: {len(blocks):,} blocks; a bot holds at most {limits.max_blocks:,}"
            " (TRANSBORDO_FLOW_MAX_BLOCKS)"
        )
        where = {"count": len(blocks), "max": limits.max_blocks}
        issue = locator.at(("blocks",), message, "too_many_blocks", where, key=True)
        return _Loaded(None, [issue], locator)
    issues = list(builder.issues)
    environment = os.environ if env is None else env
    secrets = _substitute_env(data, environment, limits, locator, issues)
    flow = None
    try:
        flow = BotFlow.model_validate(data)
    except ValidationError as exc:
        issues += (model_issue(error, locator, secrets) for error in exc.errors(include_url=False))
    issues += check_rules(data, locator)
    return _Loaded(flow, _ordered(issues), locator)


def _ordered(issues: Iterable[FlowIssue]) -> list[FlowIssue]:
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda issue: (issue.line, issue.column))


def _syntax_error(
    exc: yaml.MarkedYAMLError,
) -> tuple[int, int, str, str, dict[str, object]]:
    """(line, column, message, code, ctx) of a text that is not YAML; ctx keeps the parser's
    own words (`problem`, `context`) apart, for a screen to quote after its sentence."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if "'\\t'" in problem:
        message = "YAML syntax error: a tab character; indent with spaces"
        return line, column, message, "yaml_tab", {}
    if isinstance(exc, yaml.composer.ComposerError) and "another document" in problem:
        message = "YAML syntax error: a bot file holds one document (remove '---')"
        return line, column, message, "yaml_two_documents", {}
    message = f"YAML syntax error: {problem}"
    ctx: dict[str, object] = {"problem": problem}
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        ctx |= {"context": exc.context, "context_line": exc.context_mark.line + 1}
    if exc.context and "flow" in exc.context:
        message += "; inside { } or [ ], put texts with , : # [ ] { } in quotes"
        ctx["quotes"] = "brackets"
    return line, column, message, "yaml_syntax", ctx


# ---------------------------------------------------------------- ${VAR} substitution


def _substitute_env(
    data: dict[str, Any],
    env: Mapping[str, str],
    limits: FlowLimits,
    locator: Locator,
    issues: list[FlowIssue],
) -> set[tuple[PathItem, ...]]:
    """Expand ``${VAR}`` in omni_key (publishing hashes it); check those of http url/headers.

    The http references stay placeholders: their activity resolves them when it sends the
    request, so the values reach no stored flow, workflow input or history. Returns the paths
    that hold an expanded secret (their values are never echoed in an issue).
    """
    substituted = set()
    human_service = data.get("human_service")
    if isinstance(human_service, dict):
        path: tuple[PathItem, ...] = ("human_service", "omni_key")
        value = human_service.get("omni_key")
        if isinstance(value, str) and "$" in value:
            expanded, problems = env_refs.expand(value, env, limits, omni_key=True)
            issues.extend(_env_issue(locator, path, problem) for problem in problems)
            if not problems:
                human_service["omni_key"] = expanded
                substituted.add(path)
    blocks = data.get("blocks")
    for name, block in blocks.items() if isinstance(blocks, dict) else ():
        if not isinstance(block, dict) or block.get("type") != "http":
            continue
        targets: list[tuple[tuple[PathItem, ...], Any]] = [
            (("blocks", name, "url"), block.get("url"))
        ]
        headers = block.get("headers")
        if isinstance(headers, dict):
            targets += [(("blocks", name, "headers", h), v) for h, v in headers.items()]
        for path, value in targets:
            if isinstance(value, str) and "$" in value:
                problems = env_refs.problems(value, env, limits)
                issues.extend(_env_issue(locator, path, problem) for problem in problems)
    return substituted


def _env_issue(
    locator: Locator, path: tuple[PathItem, ...], problem: env_refs.Problem
) -> FlowIssue:
    message = located(path, problem.message)
    return locator.at(path, message, problem.code, {**place(path), **problem.ctx})
