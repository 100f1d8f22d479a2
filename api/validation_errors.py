"""How a 422 `validation_error` shows each problem: `{loc, msg, type}`, its `ctx` values kept
short, and `input` (the value refused) only when it can carry no one's personal data.

`input` is sent back only for a scalar (a string cut to `MAX_ECHOED_INPUT` characters, a number,
a boolean), never a whole object or list (FastAPI gives the whole body for a missing field, a
model validator the whole model), and never anything under a contact's fields (`contact_id`,
`contact.*`) or a message's `text`, in any location (body, query, path): a connector fills the
contact from its records (a phone number, a CPF), a customer types a CPF in a message, and a
connector keeps error answers in its logs. Nothing here is logged.
"""

from __future__ import annotations

from typing import Any

from api.surrogates import mended

MAX_ECHOED_INPUT = 200
"""Characters of a validation error's `input` sent back; longer ones are cut."""
PERSONAL: frozenset[str] = frozenset({"contact", "contact_id", "text"})
"""Fields whose values (and whose fields' values) are never echoed, wherever they are."""


def short_error(error: Any) -> Any:
    """One of pydantic's errors as the API shows it (see the module's docstring)."""
    if not isinstance(error, dict) or "input" not in error:
        return error
    short = {key: value for key, value in error.items() if key not in ("input", "ctx", "url")}
    shown = error["input"]
    if isinstance(shown, bytes) and error.get("type") == "string_unicode":
        short.update(_undecodable_at(shown))
    if _echoed(error.get("loc"), shown):
        short["input"] = _short_value(shown)
    if isinstance(error.get("ctx"), dict):  # e.g. {"max_length": 4096}; values kept short
        short["ctx"] = {k: _short_value(v) for k, v in error["ctx"].items()}
    return short


def _echoed(loc: Any, shown: Any) -> bool:
    if not isinstance(shown, str | int | float | bool | type(None)):
        return False
    path = list(loc) if isinstance(loc, list | tuple) else []
    return not any(isinstance(part, str) and part in PERSONAL for part in path)


def _undecodable_at(raw: bytes) -> dict[str, Any]:
    """Where a body stops being UTF-8, as line:column (1-based) for the editor."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        return {
            "line": line,
            "column": column,
            "msg": f"the body is not UTF-8 (line {line}, column {column}); save it as UTF-8",
        }
    return {}


def _short_value(value: Any) -> Any:
    """`value` as sent back: numbers as they are, text cut and writable as UTF-8 (a lone
    surrogate, refused at the door by api/edge.py, would fail the whole answer)."""
    if isinstance(value, int | float | bool | type(None)):
        return value
    text = mended(str(value))
    return text if len(text) <= MAX_ECHOED_INPUT else text[:MAX_ECHOED_INPUT] + "…"
