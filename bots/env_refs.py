"""``${NAME}`` references to the environment: checked at load, resolved only where used.

A flow may read the variables the operator allows (:class:`bots.limits.FlowLimits`). The values
never enter a stored flow, an API answer, a workflow input or a history: ``omni_key`` is
expanded only to be hashed at publish, and ``http`` blocks keep the placeholder until their
activity sends the request (:func:`resolve`).

Between the interpreter and the activity, a rendered URL or header is *marked*: text that came
from the flow or the customer has each ``$`` doubled, so a customer who types ``${FLOW_TOKEN}``
gets the literal text, and only the flow's own references stay ``${NAME}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from bots.limits import FlowLimits

REFERENCE = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MARKED = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Problem(NamedTuple):
    """A reference that cannot be read: the flow issue's message, code and values."""

    message: str
    code: str
    ctx: dict[str, str]


def problems(
    value: str, env: Mapping[str, str], limits: FlowLimits, *, omni_key: bool = False
) -> list[Problem]:
    """What is wrong with the references of ``value`` (empty when every one may be read)."""
    return expand(value, env, limits, omni_key=omni_key)[1]


def expand(
    value: str, env: Mapping[str, str], limits: FlowLimits, *, omni_key: bool = False
) -> tuple[str, list[Problem]]:
    """``value`` with its references replaced, and what went wrong."""
    found: list[Problem] = []

    def replace(match: re.Match[str]) -> str:
        name, reference = match.group(1), match.group(0)
        if not NAME.fullmatch(name):
            message = f"bad environment reference {reference!r} (write ${{NAME}})"
            found.append(Problem(message, "env_bad_reference", {"reference": reference}))
        elif not limits.allows(name, omni_key=omni_key):
            allowed = ", ".join(limits.allowed(omni_key=omni_key))
            found.append(
                Problem(
                    limits.refusal(name, omni_key=omni_key),
                    "env_not_allowed",
                    {"name": name, "allowed": allowed},
                )
            )
        elif name not in env:
            message = f"environment variable {name} is not set"
            found.append(Problem(message, "env_not_set", {"name": name}))
        else:
            return env[name]
        return reference

    expanded = REFERENCE.sub(replace, value)
    if "${" in REFERENCE.sub("", value):
        found.append(Problem("unclosed ${ (write ${NAME})", "env_unclosed", {}))
    return expanded, found


def render_marked(source: str, render: Callable[[str], str]) -> str:
    """Render the text between references with ``render``, doubling its ``$``; keep references."""
    out: list[str] = []
    last = 0
    for match in REFERENCE.finditer(source):
        out.append(render(source[last : match.start()]).replace("$", "$$"))
        out.append(match.group(0))
        last = match.end()
    out.append(render(source[last:]).replace("$", "$$"))
    return "".join(out)


class Unresolved(Exception):
    """A marked value names a variable that may not be read here or is not set."""


def resolve(marked: str, env: Mapping[str, str], limits: FlowLimits) -> str:
    """The value to send: ``$$`` → ``$``, ``${NAME}`` → the allowed variable's value."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        if not limits.allows(name):
            raise Unresolved(limits.refusal(name))
        if name not in env:
            raise Unresolved(f"environment variable {name} is not set")
        return env[name]

    return _MARKED.sub(replace, marked)


def redact(text: str, marked: list[str], env: Mapping[str, str]) -> str:
    """``text`` (an error message) with the values the marked strings read put back as
    ``${NAME}``: messages end up in histories, values must not."""
    for value in marked:
        for match in _MARKED.finditer(value):
            name = match.group(1)
            secret = env.get(name) if name else None
            if secret:
                text = text.replace(secret, match.group(0))
    return text
