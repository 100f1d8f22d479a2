"""Pydantic's validation errors as flow issues: the node each error is about, in plain words.

The loader validates the built data with :class:`BotFlow`; each error's location is walked down
the YAML node tree (a key, a missing field, an unknown block type) and its message reworded.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails
from yaml.nodes import Node

from bots.errors import FlowIssue
from bots.models import BotFlow
from bots.places import located, place
from bots.schedule import ISSUE_CODES
from bots.validation import BLOCK_TYPES
from bots.yaml_nodes import Locator, PathItem, child

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}
_RULES = {
    BotFlow.model_fields["bot"].metadata[0].pattern: "bot_name",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "variable_name",
}
"""The patterns a flow's names follow, by the rule a screen names (ctx `rule`)."""
_PATTERN_HINTS = {
    pattern: {
        "bot_name": "is not a valid bot name (lowercase letters, digits, - and _)",
        "variable_name": (
            "is not a valid variable name (letters, digits and _, not starting with a digit)"
        ),
    }[rule]
    for pattern, rule in _RULES.items()
}


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tagged_member(annotation: Any, item: PathItem) -> Any:
    """The member of a discriminated union that pydantic names by its tag in ``loc``."""
    members = _members(annotation)
    if len(members) < 2:
        return None
    for member in members:
        if (
            _is_model(member)
            and "type" in member.model_fields
            and item in get_args(member.model_fields["type"].annotation)
        ):
            return member
    return None


def _field_annotation(annotation: Any, item: PathItem) -> Any:
    members = _members(annotation)
    if len(members) != 1:
        return None
    annotation = members[0]
    if _is_model(annotation):
        for name, info in annotation.model_fields.items():
            if item in (name, info.alias):
                return info.annotation
        return None
    if get_origin(annotation) is list and isinstance(item, int):
        return get_args(annotation)[0]
    if get_origin(annotation) is dict:
        return get_args(annotation)[1]
    return None


def _allowed_keys(annotation: Any) -> list[str]:
    members = _members(annotation)
    if len(members) != 1 or not _is_model(members[0]):
        return []
    return [info.alias or name for name, info in members[0].model_fields.items()]


@dataclass
class _Spot:
    """Where an error's ``loc`` is written in the file."""

    key: Node | None
    node: Node
    path: list[PathItem]  # the part of loc written in the file, union tags left out
    missing: PathItem | None  # the last item of loc, when it is not written
    owner: Any  # the annotation holding the last item
    on_key: bool  # the error is about a mapping key ("[key]")


def _spot(root: Node, loc: tuple[int | str, ...]) -> _Spot:
    key: Node | None = None
    node = root
    path: list[PathItem] = []
    missing: PathItem | None = None
    annotation: Any = BotFlow
    owner: Any = None
    for index, item in enumerate(loc):
        if item == "[key]":
            return _Spot(key, node, path, None, owner, True)
        member = _tagged_member(annotation, item)
        if member is not None:
            annotation = member
            continue
        owner, annotation = annotation, _field_annotation(annotation, item)
        found = child(node, item)
        if found is None:
            if index == len(loc) - 1:
                missing = item
            continue  # a union member's label, or the missing field itself
        key, node = found
        path.append(item)
    return _Spot(key, node, path, missing, owner, False)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return "a list" if isinstance(value, list) else "a mapping"


def _problem(error: ErrorDetails, show_input: bool) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error["input"]
    shown = repr(value) if show_input else "this value"
    if kind in _EXPECTED:
        got = f", got {_describe(value)}" if show_input else ""
        return f"expected {_EXPECTED[kind]}{got}"
    if kind == "literal_error":
        return f"{shown} is not allowed (expected {ctx['expected']})"
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(ctx["pattern"], f"does not match {ctx['pattern']}")
        return f"{shown} {hint}"
    if kind == "string_too_short":
        n = ctx["min_length"]
        return "must not be empty" if n == 1 else f"must have at least {n} characters"
    if kind == "string_too_long":
        return f"is too long (at most {ctx['max_length']} characters)"
    if kind == "too_short":
        n = ctx["min_length"]
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    bounds = {
        "greater_than": "greater than",
        "greater_than_equal": "at least",
        "less_than": "less than",
        "less_than_equal": "at most",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit}" + (f" (got {value})" if show_input else "")
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "should be")
    return message[:1].lower() + message[1:]


def model_issue(
    error: ErrorDetails, locator: Locator, secrets: set[tuple[PathItem, ...]]
) -> FlowIssue:
    """The issue of one validation error, coded by pydantic's error `type` (a schedule's keeps
    its values as they are: the settings forms match them)."""
    issue = _issue(error, locator, secrets)
    if error["type"] not in ISSUE_CODES:
        return issue
    ctx = tuple((key, str(value)) for key, value in (error.get("ctx") or {}).items())
    return issue.model_copy(update={"code": error["type"], "ctx": ctx})


_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "list" if isinstance(value, list) else "mapping"


def _values(error: ErrorDetails, show_input: bool) -> dict[str, Any]:
    """An error's ``ctx``: pydantic's values, and unless it is secret the input (a text, a
    number) and, for a wrong type, `got` its kind."""
    kind, value = error["type"], error["input"]
    internal = {"error", "class_name"}  # an exception object; a Python class's name
    values: dict[str, Any] = {
        k: v for k, v in (error.get("ctx") or {}).items() if k not in internal
    }
    if kind in _BOUNDS:
        values["limit"] = next(iter(values.values()))
    if kind == "string_pattern_mismatch":
        values["rule"] = _RULES.get(values["pattern"])
    if show_input and kind in _EXPECTED:
        values["got"] = _kind_of(value)
    if show_input and kind != "missing" and isinstance(value, str | int | float):
        text = _describe(value) if isinstance(value, bool) else str(value)
        values["input"] = text if len(text) <= 40 else text[:37] + "..."
    return values


def _issue(error: ErrorDetails, locator: Locator, secrets: set[tuple[PathItem, ...]]) -> FlowIssue:
    spot = _spot(locator.root, error["loc"])
    kind = error["type"]
    show_input = tuple(spot.path) not in secrets
    values = _values(error, show_input)
    if spot.on_key:
        name = spot.path[-1]
        problem = _problem(error, show_input).replace(repr(name), f"key {name!r}", 1)
        where = {**place(spot.path[:-1]), **values, "key": name, "got": None, "input": None}
        message = located(spot.path[:-1], problem)
        return locator.at_node(spot.key or spot.node, message, kind, where)
    if kind == "missing":
        message = located(spot.path, f"{spot.missing!r} is required")
        where = {**place(spot.path), "field": spot.missing}
        return locator.at_node(spot.node, message, kind, where)
    if kind == "extra_forbidden" and spot.key is not None:
        allowed = ", ".join(_allowed_keys(spot.owner))
        message = f"unknown key {spot.path[-1]!r}" + (f" (allowed: {allowed})" if allowed else "")
        where = {**place(spot.path[:-1]), "key": spot.path[-1], "allowed": allowed or None}
        return locator.at_node(spot.key, located(spot.path[:-1], message), kind, where)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        types_ = ", ".join(BLOCK_TYPES)
        found = child(spot.node, "type")
        where = {**place(spot.path), "types": types_}
        if kind == "union_tag_invalid" and found is not None:
            tag = (error.get("ctx") or {}).get("tag")
            message = f"unknown block type {tag!r} (block types: {types_})"
            where["tag"] = tag
            return locator.at_node(found[1], located(spot.path, message), kind, where)
        message = f"'type' is required (block types: {types_})"
        return locator.at_node(spot.node, located(spot.path, message), "union_tag_not_found", where)
    message = located(spot.path, _problem(error, show_input))
    return locator.at_node(spot.node, message, kind, {**place(spot.path), **values})
