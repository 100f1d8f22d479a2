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


def pattern_error(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, or None when it compiles."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"not a valid regular expression (RE2): {reason}{_hint(str(reason))}"
    return None


def _hint(reason: str) -> str:
    if "invalid escape sequence: \\" in reason and reason[-1:].isdigit():
        return " (RE2 has no backreferences)"
    if "invalid perl operator: (?<" in reason or "invalid perl operator: (?=" in reason:
        return " (RE2 has no lookahead or lookbehind)"
    if "invalid perl operator: (?!" in reason:
        return " (RE2 has no lookahead or lookbehind)"
    return ""


def fullmatch(pattern: str, text: str) -> bool:
    """Does the whole of ``text`` match ``pattern``? (validated at publish: RE2 compiles it)."""
    return _compiled(pattern).fullmatch(text) is not None
