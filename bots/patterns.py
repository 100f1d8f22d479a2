"""Designer regular expressions (a question's ``pattern``), run by RE2 in linear time.

Python's ``re`` backtracks: ``(a+)+`` against 26 ``a``s and a ``!`` takes minutes, and the
interpreter runs inside workflow code, where that trips the deadlock detector. RE2 guarantees
time linear in the answer's length; the price is its dialect: no backreferences (``\\1``) and
no lookaround (``(?=…)``, ``(?<!…)``), which are flow errors at publish. ``\\d``, ``\\w`` and
``\\b`` are ASCII in RE2 (``[0-9]``, ``[A-Za-z0-9_]``); write ``\\pL`` for any letter.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a bad pattern is the designer's flow error, not a log line


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, options=_OPTIONS)


def pattern_problem(pattern: str) -> tuple[str, str | None] | None:
    """RE2's reason for refusing ``pattern`` and what RE2 lacks that it uses (``backreferences``,
    ``lookaround``, else None), or None when it compiles."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return str(reason), _lacks(str(reason))
    return None


def pattern_message(reason: str, lacks: str | None) -> str:
    """The flow issue's (English) message for RE2's refusal."""
    hint = {
        "backreferences": " (RE2 has no backreferences)",
        "lookaround": " (RE2 has no lookahead or lookbehind)",
    }.get(lacks or "", "")
    return f"not a valid regular expression (RE2): {reason}{hint}"


def _lacks(reason: str) -> str | None:
    if "invalid escape sequence: \\" in reason and reason[-1:].isdigit():
        return "backreferences"
    if any(f"invalid perl operator: (?{c}" in reason for c in "<=!"):
        return "lookaround"
    return None


def fullmatch(pattern: str, text: str) -> bool:
    """Does the whole of ``text`` match ``pattern``? (validated at publish: RE2 compiles it)."""
    return _compiled(pattern).fullmatch(text) is not None
